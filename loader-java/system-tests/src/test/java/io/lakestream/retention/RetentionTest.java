package io.lakestream.retention;

import io.lakestream.log.StreamLayout;
import io.lakestream.log.VersionTombstone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetentionTest {
    static final int W = 2;
    static final int B = 2;

    @TempDir
    Path dir;

    /** The store under test, fresh per call; {@link S3RetentionTest} runs every test here on s3://. */
    ObjectStore store() {
        return FileStore.open(dir.resolve("s-" + java.util.UUID.randomUUID()), true);
    }

    /** This test's own fail points: armed here, seen only by the producers given {@link #env}. */
    final FailPoints failPoints = new FailPoints();
    final StreamEnv env = StreamEnv.defaults().withFailPoints(failPoints);

    private ObjectStore produced(long records) {
        ObjectStore fs = store();
        Streams.produce(fs, "p", W, B, new SyntheticSource(records, 4, 0, 1, 8), -1, Streams.opts()).close();
        return fs;
    }

    private static Set<String> dataKeys(ObjectStore fs) {
        Set<String> s = new HashSet<>();
        for (ObjectInfo o : fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)) {
            s.add(o.key());
        }
        return s;
    }

    @Test
    void checkpointsAreIdempotentAndRefuseStepsNeverCommitted() {
        ObjectStore fs = produced(40); // 10 steps
        ManifestLog log = ManifestLog.open(fs);
        assertTrue(Checkpoints.record(log, 4, "ckpt-4").committed());
        assertFalse(Checkpoints.record(log, 4, "ckpt-4").committed(), "recording again is a no-op");
        StepNotCommittedException beyond = assertThrows(StepNotCommittedException.class, () -> Checkpoints.record(log, 11, null));
        assertTrue(beyond.getMessage().contains("only 10 steps were committed"), beyond.getMessage());
        assertEquals(List.of(11L, 10L), List.of(beyond.step(), beyond.committedSteps()), "what Python's CheckpointError says");
        IllegalArgumentException e;
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.record(log, 2, null));
        assertTrue(e.getMessage().contains("older than the newest"), e.getMessage());
        assertTrue(Checkpoints.record(log, 10, null).committed(), "the end of the stream is a valid checkpoint");
        assertEquals(2, ManifestLog.open(fs).state().checkpoints().size());
    }

    @Test
    void gcReclaimsBelowTheFloorAndRestoreAtACheckpointIsByteIdentical() {
        ObjectStore fs = produced(80); // 20 steps
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 6, null);
        Checkpoints.record(log, 12, null); // keep 2: the floor is 6
        assertEquals(6, log.refresh().floorStep());
        long reclaimable = GarbageCollector.reclaimableBytes(log);
        assertTrue(reclaimable > 0);

        GcReport dry = new GarbageCollector(log, 3_600_000).run(true);
        assertEquals(6, dry.batchObjects());
        assertEquals(reclaimable, dry.batchBytes());
        assertEquals(20, dataKeys(fs).size(), "a dry run deletes nothing");

        GcReport r = new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(6, r.batchObjects());
        Set<String> left = dataKeys(fs);
        assertEquals(14, left.size());
        for (int s = 0; s < 20; s++) {
            assertEquals(s >= 6, left.contains(first.get(0).get(s).object()), "step " + s);
        }
        // restore from the floor checkpoint and from the newest: identical bytes
        for (long from : new long[] {6, 12}) {
            for (int rank = 0; rank < W; rank++) {
                for (Streams.Seen s : Streams.readRank(fs, rank, W, from, 20)) {
                    assertEquals(first.get(rank).get((int) s.step()).sha256(), s.sha256(), "rank " + rank + " step " + s.step());
                }
            }
        }
        BelowFloorException e = assertThrows(BelowFloorException.class, () -> RankReader.open(fs, 0, W, 5, ReaderOptions.defaults()));
        assertTrue(e.getMessage().contains("floor 6"), e.getMessage());
        assertEquals(0, new GarbageCollector(ManifestLog.open(fs), 3_600_000).run(false).batchObjects(), "a second pass finds nothing");
    }

    @Test
    void orphansOfACrashedProducerAreReclaimedOnlyAfterTheGracePeriod() {
        ObjectStore fs = produced(20);
        failPoints.set(FailPoints.AFTER_OBJECT_WRITE, new FailPoints.Throw(), 1);
        // inline (no writer threads): the crash stops the producer at its first object, which is what this test counts
        TgbProducer p = TgbProducer.open(fs, "crashy", StreamConfig.of(W), Streams.opts().withGroup(1, 1, false).withWriteParallelism(0),
                env);
        SyntheticSource src = new SyntheticSource(100, 5, 0, 1, 8);
        assertThrows(FailPoints.InjectedFailure.class, () -> Streams.produceWith(p, W, B, src, -1));
        failPoints.clearAll();
        assertEquals(6, dataKeys(fs).size(), "5 committed + 1 orphan");
        ManifestLog log = ManifestLog.open(fs);
        assertEquals(0, new GarbageCollector(log, 0).run(false).orphanObjects(),
                "an object its producer's current epoch may still commit is never an orphan, however old");
        TgbProducer.open(fs, "crashy", StreamConfig.of(W), Streams.opts()).close(); // the restart fences epoch 1
        // ages are measured on the injected clock against the store's modification times
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        ManifestLog gcLog = ManifestLog.open(fs, StreamEnv.defaults().withClock(clock));
        assertEquals(0, new GarbageCollector(gcLog, 3_600_000).run(false).orphanObjects(), "young orphans are spared");
        clock.advance(3_600_000 + 1_000);
        GcReport r = new GarbageCollector(gcLog, 3_600_000).run(false);
        assertEquals(1, r.orphanObjects());
        assertEquals(5, dataKeys(fs).size());
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(20));
    }

    /**
     * Who may still commit an unreferenced object, however old: a producer the GC's state does
     * not know yet (its epoch claim landed after the GC read the log, and its first batch is
     * written before its first commit), and the current epoch of a known producer at a sequence
     * above its committed one. An object of an epoch the log has moved past is an orphan.
     */
    @Test
    void anOldObjectOfAProducerTheLogDoesNotKnowOrOfTheNextSequenceIsNoOrphan() {
        ObjectStore fs = produced(20); // producer p, epoch 1, seq 5 committed
        ManifestLog plain = ManifestLog.open(fs);
        assertEquals(1, plain.state().producer("p").epoch());
        long committed = plain.state().producer("p").seq();
        String unknownProducer = StreamLayout.batchObjectKey("newcomer", 1, 1);
        String nextSeq = StreamLayout.batchObjectKey("p", 1, committed + 1);
        String olderEpoch = StreamLayout.batchObjectKey("p", 0, committed + 1);
        for (String key : List.of(unknownProducer, nextSeq, olderEpoch)) {
            fs.put(key, new byte[] {1});
        }
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        clock.advance(3_600_000 + 1_000); // every object is past the grace
        ManifestLog gcLog = ManifestLog.open(fs, StreamEnv.defaults().withClock(clock));
        GcReport.Reclaimed r = new OrphanGc(gcLog, 3_600_000).run(false, new ArrayList<>());
        assertEquals(1, r.objects(), "only the object of the fenced epoch 0");
        assertFalse(fs.stat(olderEpoch).isPresent(), "epoch 0 can never commit: an orphan");
        assertTrue(fs.stat(unknownProducer).isPresent(), "a producer not in the log yet may still commit its batch");
        assertTrue(fs.stat(nextSeq).isPresent(), "p's current epoch may still commit its next batch");
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(20));
    }

    @Test
    void eachKindOfGarbageIsCollectedByItsOwnCollectorAndNothingElse() {
        ObjectStore fs = store();
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W).withSnapshotInterval(4), Streams.opts().withGroup(1, 1, false))) {
            Streams.produceWith(p, W, B, new SyntheticSource(120, 4, 0, 1, 8), -1); // 30 steps, one version each
        }
        failPoints.set(FailPoints.AFTER_OBJECT_WRITE, new FailPoints.Throw(), 1);
        TgbProducer crashy = TgbProducer.open(fs, "crashy", StreamConfig.of(W),
                Streams.opts().withGroup(1, 1, false).withWriteParallelism(0), env);
        assertThrows(FailPoints.InjectedFailure.class, () -> Streams.produceWith(crashy, W, B, new SyntheticSource(100, 5, 0, 1, 8), -1));
        failPoints.clearAll();
        TgbProducer.open(fs, "crashy", StreamConfig.of(W), Streams.opts()).close(); // fenced: its object is an orphan
        List<List<Streams.Seen>> before = Streams.readAll(fs, W);
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 20, null);
        Checkpoints.record(log, 25, null); // floor 20
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        ManifestLog gcLog = ManifestLog.open(fs, StreamEnv.defaults().withClock(clock));
        clock.advance(Math.max(gcLog.config().logGraceMs(), 3_600_000) + 1_000); // past both graces
        List<String> unrecognised = new ArrayList<>();
        assertEquals(31, dataKeys(fs).size(), "30 committed + 1 orphan");

        GcReport.Reclaimed logFiles = new LogGc(gcLog, 0).run(false, unrecognised);
        assertTrue(logFiles.objects() > 0 && logFiles.bytes() > 0, "old versions and snapshots");
        assertEquals(31, dataKeys(fs).size(), "log GC deletes no batch object");
        assertEquals(0, gcLog.refresh().reclaimedBelowStep());

        GcReport.Reclaimed orphans = new OrphanGc(gcLog, 3_600_000).run(false, unrecognised);
        assertEquals(1, orphans.objects(), "the fenced producer's object, not the committed batches below the floor");
        assertEquals(30, dataKeys(fs).size());
        assertEquals(0, gcLog.refresh().reclaimedBelowStep());

        BatchGc.Pass batches = new BatchGc(gcLog).run(false);
        assertEquals(20, batches.objects().size());
        assertEquals(20, batches.floor());
        assertEquals(10, dataKeys(fs).size());
        assertEquals(20, gcLog.refresh().reclaimedBelowStep(), "the mark moved with the batches");
        assertEquals(List.of(), unrecognised);
        assertEquals(0, new GarbageCollector(gcLog, 3_600_000).run(false).objects(), "nothing left for the composite");
        for (int rank = 0; rank < W; rank++) {
            List<Streams.Seen> after = Streams.readRank(fs, rank, W, 20, 30);
            assertEquals(10, after.size());
            for (Streams.Seen seen : after) {
                assertEquals(before.get(rank).get((int) seen.step()).sha256(), seen.sha256(), "rank " + rank + " step " + seen.step());
            }
        }
    }

    @Test
    void strayKeysUnderTheStreamAreReportedNeverDeletedAndDoNotBreakOpening() {
        ObjectStore fs = produced(40); // 10 steps
        List<String> stray = List.of("data/p/1-1.tgb", "data/p/00000001-000000000001.tgb.partial", "data/notes.txt",
                "data/p/00000001-99999999999999999999.tgb", "_log/00000000000000000003.json.tmp", "_log/99999999999999999999.json",
                "_index/README", "backup/_lakestream.json");
        for (String k : stray) {
            fs.put(k, new byte[] {1});
        }
        ManifestLog log = ManifestLog.open(fs);
        assertEquals(10, log.state().committedSteps(), "stray keys do not change what the log says");
        Checkpoints.record(log, 4, null);
        Checkpoints.record(log, 8, null);
        TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts()).close(); // fences p's epoch: nothing left to commit
        GcReport r = new GarbageCollector(log, 0).run(false);
        assertEquals(4, r.batchObjects(), "GC still does its work");
        Set<String> reported = new HashSet<>();
        for (String u : r.unrecognisedKeys()) {
            reported.add(u.substring(0, u.indexOf(' ')));
        }
        for (String k : stray) {
            assertTrue(fs.stat(k).isPresent(), "never deleted: " + k);
            if (!k.startsWith("backup/")) { // GC looks only where Lakestream writes
                assertTrue(reported.contains(k), "reported: " + k + " in " + r.unrecognisedKeys());
            }
        }
        assertTrue(r.toJson().contains("\"unrecognised_keys\":7"), r.toJson());
        assertEquals(10, ManifestLog.open(fs).state().committedSteps());
        assertEquals(6, Streams.readRank(fs, 0, W, 4, 10).size());
    }

    @Test
    void aSlowProducersUncommittedObjectIsNeverReclaimed() throws Exception {
        ObjectStore fs = produced(8); // 2 steps by "p"
        FailPoints.Pause pause = new FailPoints.Pause();
        failPoints.set(FailPoints.AFTER_OBJECT_WRITE, pause, 1);
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread slow = new Thread(() -> {
            try {
                Streams.produce(fs, "slow", W, B, new SyntheticSource(8, 9, 0, 1, 8), -1, Streams.opts().withGroup(1, 1, false), env)
                        .close();
            } catch (Throwable t) {
                err.set(t);
            }
        });
        slow.start();
        assertTrue(pause.awaitReached(10, java.util.concurrent.TimeUnit.SECONDS));
        // an hour on (GC ages objects on its log's clock): far older than the zero grace, and not committed yet
        ManualClock clock = new ManualClock(System.currentTimeMillis() + 3_600_000);
        assertEquals(0, new GarbageCollector(ManifestLog.open(fs, StreamEnv.defaults().withClock(clock)), 0).run(false).orphanObjects(),
                "the writer's epoch is current: it may still commit the object");
        pause.release();
        slow.join(30_000);
        assertEquals(null, err.get());
        assertEquals(4, Streams.readAll(fs, W).get(0).size(), "the slow producer's batches are readable");
    }

    @Test
    void gcOfLogFilesKeepsTheStreamOpenableAndComplete() throws Exception {
        ObjectStore fs = store();
        // one step per version (a group of at most 1): a log of 30 versions, snapshots every 4
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W).withSnapshotInterval(4), Streams.opts().withGroup(1, 1, false));
        Streams.produceWith(p, W, B, new SyntheticSource(120, 4, 0, 1, 8), -1);
        p.close(); // its last snapshot is written
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 20, null);
        Checkpoints.record(log, 25, null);
        long logBytesBefore = fs.list(StreamLayout.LOG_PREFIX, null, Integer.MAX_VALUE).stream().mapToLong(ObjectInfo::size).sum();
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        ManifestLog gcLog = ManifestLog.open(fs, StreamEnv.defaults().withClock(clock));
        assertEquals(0, new GarbageCollector(gcLog, 3_600_000, 0).run(false).logFiles(), "log files younger than the grace are kept");
        clock.advance(gcLog.config().logGraceMs() + 1_000); // log files are reclaimed only once older than the grace
        GcReport r = new GarbageCollector(gcLog, 3_600_000, 0).run(false);
        assertTrue(r.logFiles() > 0, "old versions, snapshots and segments reclaimed");
        assertTrue(fs.list(StreamLayout.LOG_PREFIX, null, Integer.MAX_VALUE).stream().mapToLong(ObjectInfo::size).sum() < logBytesBefore,
                "the log holds fewer bytes");
        assertTrue(VersionTombstone.is(fs.get(StreamLayout.versionKey(0))),
                "version 0 is no longer needed: its content is reclaimed, a tombstone keeps its key taken");
        ManifestLog reopened = ManifestLog.open(fs);
        assertEquals(30, reopened.state().committedSteps());
        assertEquals(p.committedCursor(), reopened.state().producer("p").cursor());
        for (Streams.Seen s : Streams.readRank(fs, 1, W, 20, 30)) {
            assertEquals(first.get(1).get((int) s.step()).sha256(), s.sha256());
        }
        // producing continues on the truncated log
        // closed before the test ends: its background snapshot writer must not write into the directory being deleted
        try (TgbProducer again = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts())) {
            Streams.produceWith(again, W, B, new SyntheticSource(160, 4, 0, 1, 8), -1);
        }
        assertEquals(40, ManifestLog.open(fs).state().committedSteps());
    }

    @Test
    void flowControlWaitsOnTheInjectedClock() throws Exception {
        ObjectStore fs = store();
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W).withRetention(2, 2), Streams.opts().withGroup(1, 1, false),
                StreamEnv.defaults().withClock(clock));
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread producer = new Thread(() -> {
            try {
                Streams.produceWith(p, W, B, new SyntheticSource(12, 1, 0, 1, 8), -1); // 3 steps
            } catch (Throwable t) {
                err.set(t);
            }
        });
        producer.start();
        long until = System.currentTimeMillis() + 30_000;
        while (clock.sleeps() == 0 && producer.isAlive() && System.currentTimeMillis() < until) {
            Thread.sleep(5); // until the producer waits on the clock
        }
        ManifestLog log = ManifestLog.open(fs);
        assertEquals(2, log.refresh().committedSteps(), "held at the bound");
        assertTrue(producer.isAlive(), "the producer waits on the injected clock, which stands still");
        assertTrue(p.waitingReason().contains("flow control"), p.waitingReason());
        Checkpoints.record(log, 2, null);
        clock.advance(clock.sleptMillis()); // its poll interval passes: it sees the checkpoint and goes on
        producer.join(30_000);
        assertEquals(null, err.get());
        assertEquals(3, log.refresh().committedSteps());
        assertEquals(1, p.flowWaits());
        p.close();
    }

    @Test
    void flowControlHoldsProducersWithinTheBoundUntilACheckpoint() throws Exception {
        ObjectStore fs = store();
        StreamConfig cfg = StreamConfig.of(W).withRetention(2, 5);
        ManifestLog.openOrCreate(fs, cfg);
        AtomicReference<Throwable> err = new AtomicReference<>();
        AtomicLong maxLagSeen = new AtomicLong();
        TgbProducer p = TgbProducer.open(fs, "p", cfg, Streams.opts());
        Thread producer = new Thread(() -> {
            try (p) {
                Streams.produceWith(p, W, B, new SyntheticSource(80, 1, 0, 1, 8), -1); // 20 steps
            } catch (Throwable t) {
                err.set(t);
            }
        });
        producer.start();
        ManifestLog log = ManifestLog.open(fs);
        long until = System.currentTimeMillis() + 10_000;
        // until the producer itself says it waits for a checkpoint (no timing: its own state)
        while (p.flowWaits() == 0 && producer.isAlive() && System.currentTimeMillis() < until) {
            Thread.onSpinWait();
        }
        assertEquals(5, log.refresh().committedSteps(), "the producer stops at the bound without a checkpoint");
        assertTrue(producer.isAlive());
        assertTrue(String.valueOf(p.waitingReason()).contains("flow control"), p.waitingReason());
        long ckpt = 0;
        while (producer.isAlive() || log.refresh().committedSteps() > ckpt) {
            var s = log.refresh();
            maxLagSeen.accumulateAndGet(s.lagSteps(), Math::max);
            if (s.committedSteps() > ckpt) {
                ckpt = Math.min(s.committedSteps(), ckpt + 3);
                Checkpoints.record(log, ckpt, null);
            }
            Thread.sleep(30);
            if (System.currentTimeMillis() > until + 20_000) {
                break;
            }
        }
        producer.join(10_000);
        assertEquals(null, err.get());
        assertEquals(20, log.refresh().committedSteps());
        assertTrue(maxLagSeen.get() <= 5, "lag never exceeded the bound: " + maxLagSeen.get());
    }
}
