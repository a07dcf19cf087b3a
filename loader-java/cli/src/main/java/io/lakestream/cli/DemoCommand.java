package io.lakestream.cli;

import io.lakestream.stream.Lakestream;
import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.testkit.s3.EmbeddedS3Server;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", description = {
        "End to end on a temporary file:// stream: producer processes write, W rank readers consume,",
        "one producer is SIGKILLed mid-run and restarted; then every record is checked to have",
        "arrived exactly once and a summary of what was measured is printed."})
final class DemoCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    MetricsOption metrics = new MetricsOption();

    @Option(names = "--producers", defaultValue = "3")
    int producers;

    @Option(names = "--world-size", defaultValue = "4")
    int worldSize;

    @Option(names = "--micro-batch", defaultValue = "8")
    int microBatch;

    @Option(names = "--seq-len", defaultValue = "2048")
    int seqLen;

    @Option(names = "--records", defaultValue = "30000", description = "source records in all")
    long records;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Option(names = "--lz4", description = "store shards LZ4-compressed")
    boolean lz4;

    @Option(names = "--no-kill", description = "do not kill and restart a producer")
    boolean noKill;

    @Option(names = "--dir", description = "stream directory (default: a new temporary directory)")
    Path dir;

    @Option(names = "--keep", description = "keep the stream directory afterwards")
    boolean keep;

    @Option(names = "--store", defaultValue = "file",
            description = "file: a temporary directory (default); s3: an embedded S3 server (S3Proxy) on 127.0.0.1")
    String storeKind;

    private static final class RankStats {
        final List<Long> ids = new ArrayList<>();
        final List<String> objects = new ArrayList<>();
        final List<Long> latencyNanos = new ArrayList<>();
        long bytes;
        long steps;
        long firstNanos;
        long lastNanos;
    }

    @Override
    public Integer call() throws Exception {
        metrics.start("demo");
        Path root = dir != null ? dir : Files.createTempDirectory("lakestream-demo-");
        Path streamDir = root.resolve("stream");
        Path logs = Files.createDirectories(root.resolve("logs"));
        String uri = "file://" + streamDir.toAbsolutePath();
        EmbeddedS3Server s3 = null;
        if (storeKind.equals("s3")) {
            // same demo over S3: the producer processes and readers reach it through the URI
            s3 = EmbeddedS3Server.start();
            s3.createBucket("lakestream-demo");
            uri = s3.streamUri("lakestream-demo", "stream");
        } else if (!storeKind.equals("file")) {
            throw new IllegalArgumentException("--store must be file or s3, not '" + storeKind + "'");
        }
        int perStep = worldSize * microBatch;
        long expectedSteps = 0;
        for (int k = 0; k < producers; k++) {
            long mine = records / producers + (k < records % producers ? 1 : 0);
            expectedSteps += (mine + perStep - 1) / perStep;
        }
        System.err.printf("lakestream demo: %d producers, world size %d, %d records of %d tokens -> %s%n",
                producers, worldSize, records, seqLen, ObjectStores.redact(uri));
        try (ObjectStore store = ObjectStores.open(uri, true)) {
            ManifestLog.openOrCreate(store, StreamConfig.of(worldSize));
            Lakestream stream = Lakestream.open(store, StreamEnv.defaults()); // the ranks share its one log follower
            long t0 = System.nanoTime();
            List<Process> procs = new ArrayList<>();
            for (int k = 0; k < producers; k++) {
                procs.add(startProducer(uri, k, logs, 0));
            }
            RankStats[] stats = new RankStats[worldSize];
            AtomicLong consumedSamples = new AtomicLong();
            AtomicLong stopAt = new AtomicLong(Long.MAX_VALUE);
            AtomicReference<Throwable> readerError = new AtomicReference<>();
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < worldSize; r++) {
                RankStats st = stats[r] = new RankStats();
                final int rank = r;
                Thread t = new Thread(() -> readRank(stream, rank, st, consumedSamples, stopAt, readerError), "demo-rank-" + r);
                t.start();
                readers.add(t);
            }
            int kills = 0;
            int restarts = 0;
            long readNanos;
            Object[] result;
            try (ProgressBar pb = new ProgressBarBuilder().setTaskName("records").setInitialMax(records)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200)
                    .setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
                ManifestLog watch = ManifestLog.open(store, true);
                boolean killed = noKill || producers == 0;
                while (true) {
                    pb.stepTo(consumedSamples.get());
                    ManifestState s = watch.refresh();
                    if (!killed && s.committedSteps() >= expectedSteps / 4) {
                        Process victim = procs.get(0);
                        if (victim.isAlive()) {
                            victim.destroyForcibly(); // SIGKILL: no shutdown hooks, mid-write or mid-commit
                            victim.waitFor();
                            kills++;
                            pb.setExtraMessage("p0 SIGKILLed, restarted");
                            procs.set(0, startProducer(uri, 0, logs, 1));
                            restarts++;
                        }
                        killed = true;
                    }
                    boolean allDone = true;
                    for (Process p : procs) {
                        allDone &= !p.isAlive();
                    }
                    if (allDone || readerError.get() != null) {
                        break;
                    }
                    Thread.sleep(50);
                }
                long producedNanos = System.nanoTime() - t0;
                for (int k = 0; k < procs.size(); k++) {
                    int rc = procs.get(k).waitFor();
                    if (rc != 0) {
                        throw new IllegalStateException("producer p" + k + " exited " + rc + ": see " + logs.resolve("p" + k + ".err"));
                    }
                }
                ManifestState fin = watch.refresh();
                stopAt.set(fin.committedSteps());
                for (Thread t : readers) {
                    while (t.isAlive()) {
                        pb.stepTo(consumedSamples.get());
                        t.join(100);
                    }
                }
                pb.stepTo(consumedSamples.get());
                if (readerError.get() != null) {
                    throw new IllegalStateException("a reader failed: " + readerError.get().getMessage(), readerError.get());
                }
                readNanos = System.nanoTime() - t0;
                result = new Object[] {watch, fin, producedNanos};
            } finally {
                stream.close(); // after the readers' threads: each closed its reader
            }
            // after the bar is closed, so the summary is not interleaved with it
            return summarize(store, (ManifestLog) result[0], (ManifestState) result[1], stats, kills, restarts,
                    (Long) result[2], readNanos, expectedSteps, root);
        } finally {
            if (s3 != null) {
                s3.close();
            }
            if (!keep && dir == null) {
                deleteTree(root);
            } else {
                System.err.println("stream kept at " + streamDir);
            }
        }
    }

    private Process startProducer(String uri, int k, Path logs, int attempt) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "produce",
                "--stream", uri, "--producer", "p" + k, "--world-size", Integer.toString(worldSize),
                "--micro-batch", Integer.toString(microBatch), "--seq-len", Integer.toString(seqLen),
                "--source", "synthetic:records=" + records + ",seed=" + seed + ",partition=" + k + "/" + producers));
        if (lz4) {
            cmd.add("--lz4");
        }
        return new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve("p" + k + ".out").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(logs.resolve("p" + k + ".err").toFile()))
                .start();
    }

    private void readRank(Lakestream stream, int rank, RankStats st, AtomicLong consumed, AtomicLong stopAt,
                          AtomicReference<Throwable> error) {
        try (RankReader reader = stream.reader(rank, worldSize, 0, ReaderOptions.defaults().withPrefetch(4))) {
            st.firstNanos = System.nanoTime();
            while (reader.nextStep() < stopAt.get()) {
                StepBatch b;
                try {
                    b = reader.next(200);
                } catch (ReaderTimeoutException e) {
                    continue; // producers still writing, or waiting for stopAt
                }
                try (b) {
                    for (long id : b.tensor("record_id").toLongArray()) {
                        st.ids.add(id);
                    }
                    st.objects.add(b.object());
                    st.latencyNanos.add(b.fetchNanos());
                    st.bytes += b.bytesFetched();
                    st.steps++;
                    consumed.addAndGet(b.samples());
                }
                st.lastNanos = System.nanoTime();
            }
        } catch (Throwable t) {
            error.compareAndSet(null, t);
        }
    }

    private int summarize(ObjectStore store, ManifestLog log, ManifestState fin, RankStats[] stats, int kills, int restarts,
                          long producedNanos, long readNanos, long expectedSteps, Path root) {
        long steps = fin.committedSteps();
        long bytesWritten = 0;
        Set<String> committed = new HashSet<>();
        for (long s = 0; s < steps; s++) {
            TgbEntry e = log.entry(s);
            bytesWritten += e.objectSize();
            committed.add(e.object());
        }
        long orphans = 0;
        for (ObjectInfo o : store.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)) {
            if (!committed.contains(o.key())) {
                orphans++;
            }
        }
        BitSet seen = new BitSet((int) records);
        long dup = 0;
        long out = 0;
        long delivered = 0;
        long bytesRead = 0;
        List<Long> lat = new ArrayList<>();
        boolean sameMapping = true;
        boolean gapFree = true;
        for (RankStats st : stats) {
            for (long id : st.ids) {
                delivered++;
                if (id < 0 || id >= records) {
                    out++;
                } else if (seen.get((int) id)) {
                    dup++;
                } else {
                    seen.set((int) id);
                }
            }
            gapFree &= st.steps == steps;
            sameMapping &= st.objects.equals(stats[0].objects);
            lat.addAll(st.latencyNanos);
            bytesRead += st.bytes;
        }
        long missing = records - seen.cardinality();
        long[] l = lat.stream().mapToLong(Long::longValue).sorted().toArray();
        boolean ok = dup == 0 && missing == 0 && out == 0 && gapFree && sameMapping && steps == expectedSteps;
        double wSec = producedNanos / 1e9;
        double rSec = readNanos / 1e9;
        System.out.println();
        System.out.println("lakestream demo summary");
        System.out.printf("  producers            %d processes, %d SIGKILLed and restarted (%d restarts)%n", producers, kills, restarts);
        System.out.printf("  steps committed      %d (expected %d), manifest version %d%n", steps, expectedSteps, fin.version());
        System.out.printf("  records delivered    %d of %d to %d ranks: %d missing, %d duplicated%n", delivered, records, worldSize,
                missing, dup);
        System.out.printf("  written              %.1f MB in %.2f s = %.1f MB/s (batch objects, fsynced), %d orphan objects%n",
                bytesWritten / 1e6, wSec, bytesWritten / 1e6 / wSec, orphans);
        System.out.printf("  read                 %.1f MB by %d ranks in %.2f s = %.1f MB/s%n", bytesRead / 1e6, worldSize, rSec,
                bytesRead / 1e6 / rSec);
        if (l.length > 0) {
            System.out.printf("  per-step read        p50 %.3f ms, p99 %.3f ms, max %.3f ms (ranged read + CRC32C + decode, %d reads)%n",
                    pct(l, 50) / 1e6, pct(l, 99) / 1e6, l[l.length - 1] / 1e6, l.length);
        }
        System.out.printf("  steps gap-free       %s on every rank; same step->batch mapping on every rank: %s%n",
                gapFree ? "yes" : "NO", sameMapping ? "yes" : "NO");
        System.out.printf("  exactly once         %s%n", ok ? "YES: every record arrived exactly once" : "NO");
        return ok ? 0 : 1;
    }

    private static long pct(long[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static void deleteTree(Path p) {
        File f = p.toFile();
        File[] kids = f.listFiles();
        if (kids != null) {
            for (File k : kids) {
                deleteTree(k.toPath());
            }
        }
        f.delete();
    }
}
