package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import io.lakestream.lineage.Lineage;
import io.lakestream.lineage.StepLineage;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.RecordIds;
import io.lakestream.source.SampleBatch;
import io.lakestream.source.SampleSource;
import io.lakestream.source.Sources;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mixture producer (synthetic "code" + Debian's license texts as "web") is SIGKILLed again and
 * again while a trainer changes the mixture: every step before the control record's step follows
 * the old weights, every step from it the new ones (sample by sample, as the counts dictate), and
 * every record of both sources arrives exactly once, in order.
 */
class ControlCrashTest {
    static final int W = 2;
    static final int B = 4;
    static final int L = 128;
    static final int CODE_RECORDS = 400;
    static final String WEB = "text:path=/usr/share/common-licenses";

    @TempDir
    Path dir;

    private static String[] produce(String uri) {
        return new String[] {"produce", "--stream", uri, "--producer", "mix", "--world-size", Integer.toString(W), "--micro-batch",
                Integer.toString(B), "--seq-len", Integer.toString(L), "--group", "2", "--source",
                "code=synthetic:records=" + CODE_RECORDS + ",seed=3", "--source", "web=" + WEB, "--mixture", "code:0.5,web:0.5"};
    }

    @Test
    void mixtureChangedUnderKillsFollowsTheNewWeightsFromItsStepExactlyOnce() throws Exception {
        Path streamDir = dir.resolve("s");
        String uri = "file://" + streamDir;
        Path logs = dir.resolve("logs");
        // Each commit pauses 25 ms so that the kills land mid-run.
        Map<String, String> slow = Map.of("LAKESTREAM_FAILPOINTS", FailPoints.AFTER_COMMIT + "=sleep:25");
        Random rnd = new Random(14);
        int kills = 0;
        boolean changed = false;
        long deadline = System.currentTimeMillis() + 150_000;
        Process p = Cli.start(logs, "mix-0", slow, produce(uri));
        while (true) {
            assertTrue(System.currentTimeMillis() < deadline, "producer did not finish: " + Cli.read(logs, "mix-" + kills + ".err"));
            Thread.sleep(250 + rnd.nextInt(500));
            if (!p.isAlive()) {
                assertEquals(0, p.exitValue(), Cli.read(logs, "mix-" + kills + ".err"));
                assertTrue(changed, "the producer finished before the control change (it should be slowed down more)");
                break;
            }
            if (!changed && kills >= 2 && committed(streamDir) >= 30) {
                Cli.Result c = Cli.run("control", "--stream", uri, "--set", "mixture=code:0.2,web:0.8", "--id", "trainer");
                assertEquals(0, c.exit(), c.err());
                changed = true;
                Thread.sleep(100 + rnd.nextInt(200)); // the live producer meets it at its next commit
            }
            if (kills < 8) {
                p.destroyForcibly(); // SIGKILL
                p.waitFor();
                kills++;
                p = Cli.start(logs, "mix-" + kills, slow, produce(uri));
            }
        }
        assertTrue(kills >= 4, "killed " + kills + " times");

        try (ObjectStore store = FileStore.open(streamDir, false)) {
            ManifestState s = ManifestLog.open(store, true).state();
            assertEquals(1, s.controls().size());
            ControlRecord c = s.control();
            long from = c.fromStep();
            assertTrue(from >= 30 && from < s.committedSteps(), "changed mid-run at step " + from + " of " + s.committedSteps());

            // Per step, the sub-source of every sample in global order, the records and tokens.
            List<int[]> subs = new ArrayList<>();
            List<long[]> firsts = new ArrayList<>();
            List<long[]> lasts = new ArrayList<>();
            List<int[][]> tokens = new ArrayList<>();
            readAll(store, s.committedSteps(), subs, firsts, lasts, tokens);

            // The weights, sample by sample: replay the rule (largest deficit, ties to "code") with counts restarting at the change.
            long[] taken = new long[2];
            long[] total = {CODE_RECORDS, webSamples()};
            long[] n = new long[2];
            for (int step = 0; step < subs.size(); step++) {
                double[] w = step < from ? new double[] {0.5, 0.5} : new double[] {0.2, 0.8};
                if (step == from) {
                    n = new long[2];
                }
                for (int i = 0; i < subs.get(step).length; i++) {
                    int want = pick(w, n, taken, total);
                    assertEquals(want, subs.get(step)[i], "step " + step + " sample " + i + " (control change at " + from + ")");
                    n[want]++;
                    taken[want]++;
                }
                StepLineage l = Lineage.blame(store, step, 0);
                assertEquals(step < from ? 0 : 1, l.control());
                assertEquals(step < from ? 0L : 1L, l.controlApplied(), "step " + step + " was generated under the control in force");
            }
            assertEquals(total[0], taken[0], "every code record");
            assertEquals(total[1], taken[1], "every web sample");

            // Exactly once and in order: code records 0, 1, 2, ...; web samples equal a reference packing of the texts.
            long nextCode = 0;
            try (SampleSource ref = Sources.open(WEB, L, 1)) {
                SampleBatch rb = new SampleBatch(L, 1);
                for (int step = 0; step < subs.size(); step++) {
                    for (int i = 0; i < subs.get(step).length; i++) {
                        if (subs.get(step)[i] == 0) {
                            assertEquals(RecordIds.of(0, nextCode++), firsts.get(step)[i], "code record at step " + step);
                        } else {
                            rb.clear();
                            assertTrue(ref.next(rb));
                            assertEquals(rb.firstRecord(0), firsts.get(step)[i], "web sample at step " + step + " sample " + i);
                            assertEquals(rb.lastRecord(0), lasts.get(step)[i]);
                            assertArrayEquals(Arrays.copyOf(rb.tokenArray(), L), tokens.get(step)[i]);
                        }
                    }
                }
            }
            assertEquals(CODE_RECORDS, nextCode);
        }
    }

    /** The rule of io.lakestream.source.Mixture, restated: the largest deficit among sources not exhausted. */
    private static int pick(double[] w, long[] n, long[] taken, long[] total) {
        double live = 0;
        long t = n[0] + n[1];
        for (int i = 0; i < 2; i++) {
            live += taken[i] < total[i] ? w[i] : 0;
        }
        int best = -1;
        double bestDeficit = 0;
        for (int i = 0; i < 2; i++) {
            if (taken[i] >= total[i]) {
                continue;
            }
            double d = w[i] / live * (t + 1) - n[i];
            if (best < 0 || d > bestDeficit) {
                best = i;
                bestDeficit = d;
            }
        }
        return best;
    }

    private static long webSamples() {
        try (SampleSource ref = Sources.open(WEB, L)) {
            SampleBatch b = new SampleBatch(L, 1);
            long k = 0;
            while (ref.next(b)) {
                b.clear();
                k++;
            }
            return k;
        }
    }

    private static void readAll(ObjectStore store, long steps, List<int[]> subs, List<long[]> firsts, List<long[]> lasts,
                                List<int[][]> tokens) {
        List<List<long[]>> f = new ArrayList<>();
        List<List<long[]>> la = new ArrayList<>();
        List<List<int[]>> tk = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            List<long[]> fr = new ArrayList<>();
            List<long[]> lr = new ArrayList<>();
            List<int[]> tr = new ArrayList<>();
            try (RankReader reader = RankReader.open(store, r, W, 0, ReaderOptions.defaults())) {
                for (long s = 0; s < steps; s++) {
                    try (StepBatch b = reader.next(30_000)) {
                        fr.add(b.tensor("record_id").toLongArray());
                        lr.add(b.tensor("last_record_id").toLongArray());
                        tr.add(b.tensor("tokens").toIntArray());
                    }
                }
            }
            f.add(fr);
            la.add(lr);
            tk.add(tr);
        }
        for (int s = 0; s < steps; s++) {
            List<Long> fs = new ArrayList<>();
            List<Long> ls = new ArrayList<>();
            List<int[]> ts = new ArrayList<>();
            for (int r = 0; r < W; r++) {
                long[] ids = f.get(r).get(s);
                for (int i = 0; i < ids.length; i++) {
                    fs.add(ids[i]);
                    ls.add(la.get(r).get(s)[i]);
                    ts.add(Arrays.copyOfRange(tk.get(r).get(s), i * L, (i + 1) * L));
                }
            }
            int[] sub = new int[fs.size()];
            for (int i = 0; i < sub.length; i++) {
                sub[i] = RecordIds.sub(fs.get(i));
            }
            subs.add(sub);
            firsts.add(fs.stream().mapToLong(Long::longValue).toArray());
            lasts.add(ls.stream().mapToLong(Long::longValue).toArray());
            tokens.add(ts.toArray(int[][]::new));
        }
    }

    private static long committed(Path streamDir) {
        if (!Files.exists(streamDir.resolve("_lakestream.json"))) {
            return 0;
        }
        try (ObjectStore fs = FileStore.open(streamDir, false)) {
            return ManifestLog.open(fs, true).state().committedSteps();
        } catch (RuntimeException e) {
            return 0;
        }
    }
}
