package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The producer's pipeline: appends go on while a commit is stuck, a lone batch is committed by
 * the linger bound without {@code commit()}, a fixed group waits for its batches, and races lost
 * to checkpoints are not counted as contention.
 */
class ProducerPipelineTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private static SyntheticSource source() {
        return new SyntheticSource(100_000, 1, 0, 1, 8);
    }

    private static void append(TgbProducer p, SyntheticSource src, long[] next) {
        long[] ids = src.take(next[0], 2 * W);
        next[0] = src.after(ids[ids.length - 1]);
        p.append(src.globalBatch(ids, W), SyntheticSource.cursor(next[0]));
    }

    /** Waits (up to 20 s: a liveness bound, not a speed target) until the log shows {@code steps}. */
    private static void awaitCommittedSteps(ObjectStore store, long steps) throws InterruptedException {
        ManifestLog log = ManifestLog.open(store, true);
        for (int i = 0; i < 2000 && log.refresh().committedSteps() < steps; i++) {
            Thread.sleep(10);
        }
        assertEquals(steps, log.state().committedSteps());
    }

    @Test
    void appendsGoOnWhileACommitIsStuck() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hs = new HookStore(fs);
        TgbProducer p = TgbProducer.open(hs, "p", StreamConfig.of(W), ProducerOptions.defaults());
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean once = new AtomicBoolean();
        hs.putIfAbsentHook = key -> {
            if (key.startsWith(StreamLayout.LOG_PREFIX) && once.compareAndSet(false, true)) {
                stuck.countDown();
                try {
                    release.await(); // the committer's first version write hangs, as on a stalled store
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return false;
        };
        SyntheticSource src = source();
        long[] next = {0};
        append(p, src, next);
        assertTrue(stuck.await(20, TimeUnit.SECONDS), "the first commit started");
        // Encoding and writing go on behind the stuck commit until the queue is full (two batches
        // per writer thread: backpressure, not unbounded memory); then append waits, saying why.
        java.util.concurrent.atomic.AtomicInteger appended = new java.util.concurrent.atomic.AtomicInteger();
        Thread appender = new Thread(() -> {
            for (int i = 0; i < 20; i++) {
                append(p, src, next);
                appended.incrementAndGet();
            }
        });
        appender.start();
        for (int i = 0; i < 2000 && p.waitingReason() == null; i++) {
            Thread.sleep(10);
        }
        assertTrue(p.waitingReason() != null, "append waits once the queue is full");
        int queuedWhileStuck = appended.get();
        assertTrue(queuedWhileStuck >= 2 * ProducerOptions.defaults().writeParallelism() - 2,
                "batches appended behind the stuck commit: " + queuedWhileStuck);
        assertTrue(queuedWhileStuck < 20, "the queue is bounded: " + queuedWhileStuck + " appended while the commit hangs");
        assertEquals(0, ManifestLog.open(fs, true).state().committedSteps(), "nothing committed while the commit hangs");
        release.countDown();
        appender.join(20_000);
        assertEquals(20, appended.get(), "append goes on once the commit lands");
        p.commit();
        assertEquals(21, p.committedSeq());
        assertTrue(p.commits() < 21, "the batches queued behind the stuck commit went in groups: " + p.commits() + " commits");
        p.close();
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(next[0]));
    }

    @Test
    void aLoneBatchIsCommittedByTheLingerBoundWithoutCommit() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        // adaptive, waiting for groups of 8, at most 5 ms
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), ProducerOptions.defaults().withGroup(8, 64, true))) {
            append(p, source(), new long[] {0});
            awaitCommittedSteps(fs, 1);
            // the producer counts the commit after its version is visible: wait for the count too
            for (int i = 0; i < 2000 && p.commits() < 1; i++) {
                Thread.sleep(10);
            }
            assertEquals(1, p.commits());
        }
    }

    /**
     * A fixed group larger than two batches per writer thread (the adaptive queue bound): the
     * queue holds whole groups, so appends never wait for a group that cannot fill (this hung the
     * comparison harness's stream builder: groups of 256 on 16 writers).
     */
    @Test
    void aFixedGroupLargerThanTheWritersQueueStillFillsAndCommits() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ProducerOptions big = ProducerOptions.defaults().withGroup(64, 64, false).withWriteParallelism(2);
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), big)) {
            SyntheticSource src = source();
            long[] next = {0};
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
                for (int i = 0; i < 130; i++) {
                    append(p, src, next); // a liveness bound, not a speed target: this used to wait forever at 4
                }
            });
            ManifestLog log = ManifestLog.open(fs, true);
            for (int i = 0; i < 2000 && log.refresh().committedSteps() < 128; i++) {
                Thread.sleep(10); // a liveness bound (20 s), not a speed target
            }
            assertTrue(log.state().committedSteps() >= 128, "whole groups committed without commit(): " + log.state().committedSteps());
            p.commit(); // the rest, if the last full queue did not take it already
            assertEquals(130, p.committedSeq());
            assertEquals(130, log.refresh().committedSteps());
            // groups of (up to) 64: a full queue is committed with what is written by then
            assertTrue(p.commits() >= 3 && p.commits() <= 10, "commits of whole groups, far above the writers' 4: " + p.commits());
            Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(next[0]));
        }
    }

    @Test
    void aFixedGroupWaitsForItsBatchesOrCommit() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), ProducerOptions.defaults().withGroup(3, 3, false))) {
            SyntheticSource src = source();
            long[] next = {0};
            append(p, src, next);
            append(p, src, next);
            // that two of three are never committed on their own, however long they wait, is
            // CommitterTest.aFixedGroupWaitsForItsLastBatchHoweverLongItTakes (on a manual clock)
            append(p, src, next);
            awaitCommittedSteps(fs, 3); // the third fills the group
            append(p, src, next);
            CommitResult r = p.commit();
            assertEquals(4, r.state().committedSteps());
            assertEquals(2, p.commits());
        }
    }

    @Test
    void racesLostToCheckpointsAreNotBatchConflicts() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hs = new HookStore(fs);
        ManifestLog trainer = ManifestLog.openOrCreate(fs, StreamConfig.of(W));
        ManifestLog mine = ManifestLog.open(hs);
        // the race for the first version is lost to a checkpoint record, a later one to another producer's batch
        AtomicBoolean raced = new AtomicBoolean();
        String first = ManifestLog.versionKey(mine.state().version() + 1);
        hs.putIfAbsentHook = key -> {
            if (key.equals(first) && raced.compareAndSet(false, true)) {
                Checkpoints.record(trainer, 0, null);
            }
            return false;
        };
        CommitResult r = mine.commit("me", s -> new Changes(Map.of("me", new ProducerState(1, 0, null)), List.of(), List.of()));
        assertEquals(1, r.conflicts());
        assertEquals(0, r.batchConflicts(), "a checkpoint version is not contention between producers");
        try (TgbProducer q = TgbProducer.open(fs, "q", StreamConfig.of(W), ProducerOptions.defaults())) {
            long[] next = {0};
            AtomicBoolean racedAgain = new AtomicBoolean();
            long v = mine.state().version() + 2; // q's claim takes the next version
            hs.putIfAbsentHook = key -> {
                if (key.equals(ManifestLog.versionKey(v)) && racedAgain.compareAndSet(false, true)) {
                    append(q, source(), next);
                    q.commit();
                }
                return false;
            };
            mine.refresh();
            r = mine.commit("me", s -> new Changes(Map.of("me", new ProducerState(1, 0, "x")), List.of(), List.of()));
            assertTrue(r.conflicts() >= 1);
            assertEquals(1, r.batchConflicts(), "a version with another producer's batch is");
        }
        assertEquals(0, trainer.refresh().latestCheckpoint().step());
    }

    /**
     * A version is published only once the names of the batch objects it carries are durable: the
     * producer's name-sync worker makes them so beside the version's own write, and the version put
     * waits for it between its fdatasync and its link(2). A sync that fails fails the producer with
     * the store's error, and no version names the batches it was for.
     */
    @Test
    void aVersionIsPublishedOnlyOnceTheNamesItCarriesAreDurable() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hs = new HookStore(fs);
        java.util.Set<String> durable = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.Set<String> syncThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<String> published = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<String> early = new java.util.concurrent.CopyOnWriteArrayList<>();
        hs.afterSyncNames = keys -> {
            durable.addAll(keys);
            syncThreads.add(Thread.currentThread().getName());
        };
        java.util.regex.Pattern object = java.util.regex.Pattern.compile("\"object\":\"([^\"]+)\"");
        hs.beforePublish = (key, data) -> {
            if (!key.startsWith(StreamLayout.LOG_PREFIX) || !key.endsWith(".json") || key.contains("snapshot")) {
                return;
            }
            String text = new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), java.nio.charset.StandardCharsets.UTF_8);
            java.util.regex.Matcher m = object.matcher(text);
            while (m.find()) {
                published.add(m.group(1));
                if (!durable.contains(m.group(1))) {
                    early.add(key + " names " + m.group(1));
                }
            }
        };
        SyntheticSource src = source();
        long[] next = {0};
        try (TgbProducer p = TgbProducer.open(hs, "p", StreamConfig.of(W), ProducerOptions.defaults())) {
            for (int i = 0; i < 40; i++) {
                append(p, src, next);
            }
            p.commit();
            assertEquals(40, p.committedSeq());
        }
        assertEquals(40, published.size(), "every batch was named by a version: " + published);
        assertEquals(List.of(), early, "versions published before the names they carry were durable");
        assertEquals(java.util.Set.of("lakestream-namesync-p"), syncThreads, "the syncs ran beside the commits");

        // A sync that fails: the producer fails with the store's error; nothing names the batch.
        io.lakestream.store.StoreException broken = new io.lakestream.store.StoreException("directory sync of data/q failed: EIO",
                "data/q/00000001-000000000001.tgb", null, false);
        hs.beforeSyncNames = keys -> {
            throw broken;
        };
        published.clear();
        TgbProducer q = TgbProducer.open(hs, "q", StreamConfig.of(W), ProducerOptions.defaults());
        append(q, src, next);
        RuntimeException failed = assertThrows(RuntimeException.class, q::commit);
        assertTrue(failed == broken || failed.getCause() == broken, "the store's failure: " + failed);
        q.close();
        assertEquals(List.of(), published, "no version was published for the batch");
        assertEquals(40, ManifestLog.open(fs, true).state().committedSteps());
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(40 * 2 * W));
    }

    @Test
    void aWriteFailureEndsTheInstanceAtItsNextCall() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), ProducerOptions.defaults().withGroup(4, 4, false));
        fs.put(StreamLayout.batchObjectKey("p", p.epoch(), 1), new byte[] {1}); // another instance's object under our key
        SyntheticSource src = source();
        long[] next = {0};
        append(p, src, next);
        SharedEpochException e = assertThrows(SharedEpochException.class, p::commit);
        assertEquals(StreamLayout.batchObjectKey("p", p.epoch(), 1), e.key());
        IllegalStateException again = assertThrows(IllegalStateException.class, () -> append(p, src, next));
        assertTrue(again.getMessage().contains("open a new instance"), again.getMessage());
        p.close();
        assertEquals(0, ManifestLog.open(fs, true).state().committedSteps());
    }

    @Test
    void closeLetsTheCommitInProgressLandAndSaysSo() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        FailPoints points = new FailPoints();
        FailPoints.Pause inCommit = new FailPoints.Pause();
        points.set(FailPoints.BEFORE_VERSION_PUT, inCommit, 2); // the 1st is the epoch claim, the 2nd the batch's commit
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), ProducerOptions.defaults(),
                StreamEnv.defaults().withFailPoints(points));
        append(p, source(), new long[] {0});
        assertTrue(inCommit.awaitReached(20, TimeUnit.SECONDS), "the committer is inside its commit");
        Thread closer = new Thread(p::close, "closer");
        closer.start();
        // close is now waiting for the committer (the queue's lock is free: never held across I/O);
        // a close that cut the commit short would have ended by then instead
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
             closer.getState() == Thread.State.RUNNABLE || closer.getState() == Thread.State.NEW; ) {
            assertTrue(System.nanoTime() < end, "close neither waits nor ends");
            Thread.onSpinWait();
        }
        inCommit.release();
        closer.join(TimeUnit.SECONDS.toMillis(40)); // close waits up to 30 s for the committer
        assertFalse(closer.isAlive());
        ProducerState logged = ManifestLog.open(fs, true).refresh().producer("p");
        assertEquals(1, logged.seq(), "the commit in progress landed");
        assertEquals(1, p.committedSeq(), "and the closed producer says what it committed");
    }
}
