package io.lakestream.cli;

import io.lakestream.log.StreamLayout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.retention.GcReport;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.testing.Cli;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint-aligned lifecycle under fire: producer processes SIGKILLed at random and
 * restarted, a zombie (SIGSTOP, replacement, SIGCONT), GC running all along, W rank readers,
 * checkpoints recorded as they advance (which releases flow control), and every reader restored
 * from a checkpoint midway. Scale with -Dlakestream.soak.records=N -Dlakestream.soak.kills=K
 * (scripts/soak does).
 */
class SoakTest {
    static final int W = 2;
    static final int B = 2;
    static final int PRODUCERS = 3;
    static final long MAX_LAG = 60;

    @TempDir
    Path dir;

    record Seen(String sha, long[] ids, String object) {}

    private String[] args(String uri, int k, long records) {
        return new String[] {"produce", "--stream", uri, "--producer", "p" + k, "--world-size", Integer.toString(W),
                "--micro-batch", Integer.toString(B), "--seq-len", "32", "--snapshot-interval", "8",
                // a short log grace, so GC reclaims log files under the readers and their guard is exercised
                "--log-grace-s", "4",
                "--keep-checkpoints", "2", "--max-lag-steps", Long.toString(MAX_LAG),
                "--source", "synthetic:records=" + records + ",seed=17,partition=" + k + "/" + PRODUCERS};
    }

    @Test
    void soak() throws Exception {
        long records = Long.getLong("lakestream.soak.records", 4000);
        int maxKills = Integer.getInteger("lakestream.soak.kills", 12);
        Path streamDir = dir.resolve("s");
        String uri = "file://" + streamDir;
        Path logs = dir.resolve("logs");
        ObjectStore fs = FileStore.open(streamDir, true);
        // the first producer creates the stream; start it alone so the config comes from it
        List<Process> procs = new ArrayList<>();
        procs.add(Cli.start(logs, "p0", Map.of(), args(uri, 0, records)));
        while (fs.stat("_lakestream.json").isEmpty()) {
            Thread.sleep(20);
        }
        for (int k = 1; k < PRODUCERS; k++) {
            procs.add(Cli.start(logs, "p" + k, Map.of(), args(uri, k, records)));
        }
        while (true) {
            try {
                ManifestLog.open(fs);
                break;
            } catch (StreamNotFoundException notYet) {
                Thread.sleep(20);
            }
        }

        ConcurrentHashMap<Long, Seen[]> firstRead = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean producersDone = new AtomicBoolean();
        AtomicLong[] position = new AtomicLong[W];
        AtomicLong reReads = new AtomicLong();
        AtomicLong restoreAt = new AtomicLong(-1);
        AtomicBoolean restoreRequested = new AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger restoredRanks = new java.util.concurrent.atomic.AtomicInteger();
        for (int r = 0; r < W; r++) {
            position[r] = new AtomicLong();
        }
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            final int rank = r;
            Thread t = new Thread(() -> readLoop(fs, rank, firstRead, position[rank], producersDone, restoreAt, restoredRanks, reReads,
                    failure));
            t.start();
            readers.add(t);
        }

        // the trainer's checkpointing: record the step every rank has passed, now and then
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong checkpoints = new AtomicLong();
        Thread trainer = new Thread(() -> {
            try {
                ManifestLog log = ManifestLog.open(fs);
                long last = 0;
                while (!stop.get()) {
                    if (restoreRequested.get() && restoreAt.get() < 0) {
                        // the trainer "crashed": every rank restores from the oldest retained
                        // checkpoint; no checkpoint is recorded until all ranks have reopened
                        ManifestState st = log.refresh();
                        if (st.latestCheckpoint() != null) {
                            restoreAt.set(st.floorStep());
                        }
                    }
                    long min = Long.MAX_VALUE;
                    for (AtomicLong p : position) {
                        min = Math.min(min, p.get());
                    }
                    boolean restoring = restoreRequested.get() && restoredRanks.get() < W;
                    if (!restoring && min >= last + 10) {
                        Checkpoints.record(log, min, "ckpt-" + min);
                        checkpoints.incrementAndGet();
                        last = min;
                    }
                    Thread.sleep(25);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        trainer.start();

        AtomicLong gcPasses = new AtomicLong();
        AtomicLong gcObjects = new AtomicLong();
        Thread gc = new Thread(() -> {
            try {
                ManifestLog log = ManifestLog.open(fs);
                while (!stop.get()) {
                    GcReport rep = new GarbageCollector(log, 3_000, 1_000).run(false);
                    gcPasses.incrementAndGet();
                    gcObjects.addAndGet(rep.objects());
                    if (gcPasses.get() % 5 == 0) {
                        // a newcomer (inspect, a restoring trainer) opening now at the floor must
                        // find everything it needs, however GC and snapshots interleave
                        ManifestLog fresh = ManifestLog.open(fs, true);
                        GarbageCollector.reclaimableBytes(fresh);
                        long floor = fresh.state().floorStep();
                        if (floor < fresh.state().committedSteps()) {
                            try (RankReader r = RankReader.open(fs, 0, W, floor, ReaderOptions.defaults()); StepBatch b = r.next(30_000)) {
                                assertEquals(floor, b.step());
                            } catch (io.lakestream.log.BelowFloorException movedOn) {
                                // a checkpoint raised the floor since we looked: only that is allowed
                                assertTrue(ManifestLog.open(fs, true).state().floorStep() > floor, movedOn.getMessage());
                            }
                        }
                    }
                    Thread.sleep(200);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        gc.start();

        Random rnd = new Random(Long.getLong("lakestream.soak.seed", 99));
        int kills = 0;
        int zombies = 0;
        int fenced = 0;
        boolean restored = false;
        List<Process> stopped = new ArrayList<>();
        Map<Integer, List<Process>> zombieOf = new java.util.HashMap<>();
        long deadline = System.currentTimeMillis() + Math.max(600_000, maxKills * 3_000L);
        while ((procs.stream().anyMatch(Process::isAlive) || stopped.stream().anyMatch(Process::isAlive)) && failure.get() == null) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("soak did not finish in time");
            }
            Thread.sleep(100 + rnd.nextInt(300));
            int k = rnd.nextInt(PRODUCERS);
            Process p = procs.get(k);
            if (!p.isAlive()) {
                continue;
            }
            if (kills >= 2 && zombies < 1 + kills / 100) { // one zombie, then one per 100 kills
                // zombie: freeze the instance, start a replacement, let the frozen one resume
                Cli.signal(p, "STOP");
                procs.set(k, Cli.start(logs, "p" + k, Map.of(), args(uri, k, records)));
                Thread.sleep(1500);
                Cli.signal(p, "CONT");
                stopped.add(p);
                zombieOf.computeIfAbsent(k, x -> new ArrayList<>()).add(p);
                zombies++;
            } else if (kills < maxKills) {
                p.destroyForcibly();
                p.waitFor();
                kills++;
                procs.set(k, Cli.start(logs, "p" + k, Map.of(), args(uri, k, records)));
            }
            long minPos = Long.MAX_VALUE;
            for (AtomicLong pos : position) {
                minPos = Math.min(minPos, pos.get());
            }
            if (!restored && minPos >= records / (W * B) / 2) {
                restoreRequested.set(true); // midway: the trainer thread performs the restore
                restored = true;
            }
        }
        if (failure.get() != null) {
            procs.forEach(Process::destroyForcibly);
            stopped.forEach(Process::destroyForcibly);
            stop.set(true);
            throw new AssertionError("soak failed: " + failure.get(), failure.get());
        }
        // Every instance ends fenced (3) or done (0), and each producer id finishes its source in
        // some instance. A zombie frozen before it claimed its epoch claims one on resuming and
        // fences the replacement instead: it is then the live instance, which is correct too.
        for (int k = 0; k < PRODUCERS; k++) {
            boolean finished = false;
            List<Process> instances = new ArrayList<>(List.of(procs.get(k)));
            instances.addAll(zombieOf.getOrDefault(k, List.of()));
            for (Process p : instances) {
                int rc = Cli.waitFor(p, 600);
                assertTrue(rc == 0 || rc == Main.EXIT_FENCED, "p" + k + " exited " + rc + ": " + Cli.read(logs, "p" + k + ".err"));
                finished |= rc == 0;
                if (rc == Main.EXIT_FENCED) {
                    fenced++;
                }
            }
            assertTrue(finished, "some instance of p" + k + " ran its source to the end");
        }
        producersDone.set(true);
        for (Thread t : readers) {
            t.join(300_000);
        }
        stop.set(true);
        trainer.join();
        gc.join();
        if (failure.get() != null) {
            throw new AssertionError("soak failed: " + failure.get(), failure.get());
        }

        ManifestLog log = ManifestLog.open(fs);
        long steps = log.state().committedSteps();
        // exactly once, gap-free, same mapping on every rank
        BitSet ids = new BitSet();
        for (long s = 0; s < steps; s++) {
            Seen[] row = firstRead.get(s);
            assertNotNull(row, "step " + s + " was read");
            for (int r = 0; r < W; r++) {
                assertNotNull(row[r], "step " + s + " rank " + r);
                assertEquals(row[0].object(), row[r].object(), "same batch on every rank at step " + s);
                for (long id : row[r].ids()) {
                    assertTrue(!ids.get((int) id), "record " + id + " twice");
                    ids.set((int) id);
                }
            }
        }
        assertEquals(records, ids.cardinality(), "every record delivered");

        // final checkpoints and GC: everything below the floor goes, nothing at or above is lost
        Checkpoints.record(log, steps, "final"); // idempotent if the trainer already recorded it
        long floor = log.refresh().floorStep();
        new GarbageCollector(log, 0, 1_000).run(false);
        Set<String> live = new HashSet<>();
        for (long s = floor; s < steps; s++) {
            live.add(firstRead.get(s)[0].object());
        }
        Set<String> left = new HashSet<>();
        for (ObjectInfo o : fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)) {
            left.add(o.key());
        }
        assertEquals(live, left, "exactly the batches at or above the floor remain");
        try (RankReader r = RankReader.open(fs, 1, W, floor, ReaderOptions.defaults()); StepBatch b = r.next(10_000)) {
            assertEquals(firstRead.get(floor)[1].sha(), sha(b), "the floor step re-reads byte-identically after GC");
        }
        System.out.printf("soak: %d records, %d steps, %d SIGKILLs, %d zombies (%d fenced), %d checkpoints, %d GC passes "
                        + "reclaiming %d objects, %d re-reads after restore at step %d: exactly once, gap-free, identical%n",
                records, steps, kills, zombies, fenced, checkpoints.get(), gcPasses.get(), gcObjects.get(), reReads.get(), restoreAt.get());
        assertTrue(kills > 0 && zombies >= 1 && restored && reReads.get() > 0, "the soak exercised kills, a zombie and a restore");
    }

    private static String sha(StepBatch b) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(b.tensorBytes().asByteBuffer());
        return HexFormat.of().formatHex(md.digest());
    }

    private void readLoop(ObjectStore fs, int rank, ConcurrentHashMap<Long, Seen[]> firstRead, AtomicLong position,
                          AtomicBoolean producersDone, AtomicLong restoreAt, java.util.concurrent.atomic.AtomicInteger restoredRanks,
                          AtomicLong reReads, AtomicReference<Throwable> failure) {
        boolean restoredHere = false;
        RankReader reader = null;
        try {
            reader = RankReader.open(fs, rank, W, 0, ReaderOptions.defaults());
            while (failure.get() == null) {
                long rs = restoreAt.get();
                if (!restoredHere && rs >= 0) {
                    // the trainer crashed and restores from its checkpoint: reopen at that step
                    reader.close();
                    try {
                        reader = RankReader.open(fs, rank, W, rs, ReaderOptions.defaults());
                    } catch (RuntimeException e) {
                        ManifestState st = ManifestLog.open(fs, true).state();
                        throw new AssertionError("rank " + rank + " cannot restore at " + rs + "; the log now shows version "
                                + st.version() + ", checkpoints " + st.checkpoints() + ", reclaimed below " + st.reclaimedBelowStep(), e);
                    }
                    // the restored trainer is at the checkpoint's step: a checkpoint recorded from
                    // the positions before the crash would raise the floor above steps it re-reads
                    position.set(rs);
                    restoredHere = true;
                    restoredRanks.incrementAndGet();
                }
                StepBatch b;
                try {
                    b = reader.next(300);
                } catch (ReaderTimeoutException e) {
                    if (producersDone.get() && reader.nextStep() >= ManifestLog.open(fs, true).state().committedSteps()) {
                        return;
                    }
                    continue;
                }
                try (b) {
                    Seen seen = new Seen(sha(b), b.tensor("record_id").toLongArray(), b.object());
                    Seen[] row = firstRead.computeIfAbsent(b.step(), s -> new Seen[W]);
                    synchronized (row) {
                        if (row[rank] == null) {
                            row[rank] = seen;
                        } else {
                            reReads.incrementAndGet();
                            if (!row[rank].sha().equals(seen.sha())) {
                                throw new AssertionError("step " + b.step() + " rank " + rank + " differs on re-read");
                            }
                        }
                    }
                    position.set(b.step() + 1);
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            if (reader != null) {
                reader.close();
            }
        }
    }
}
