package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.DType;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorData;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ForwardingThreads;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.time.Threads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log's behaviour exactly at its limits: the versions that get snapshots, the step an index
 * segment ends at, config values at their bounds, checkpoints recorded twice, a contended commit's
 * backoff and deadline, a follower that finds a gap, the fields of what is refused. Each case pins
 * one boundary a user meets, so a change of one comparison or one sum is a failing test.
 */
class LogBoundariesTest {
    @TempDir
    Path dir;

    private static TgbEntry tgb(String producer, long epoch, long seq) {
        return new TgbEntry(producer, epoch, seq, "c" + seq, StreamLayout.batchObjectKey(producer, epoch, seq), 10, "none",
                List.of(new ShardEntry(0, 10, 7, 10, 1, 0)));
    }

    private static void claim(ManifestLog log, String id) {
        log.commit(id, s -> new Changes(Map.of(id, new ProducerState(1, 0, null)), List.of(), List.of()));
    }

    /** Commits the next batch of producer p (epoch 1), one step per version. */
    private static void step(ManifestLog log) {
        long seq = log.refresh().producer("p").seq() + 1;
        log.commit("p", s -> Changes.batches("p", new ProducerState(1, seq, "c" + seq), List.of(tgb("p", 1, seq))));
    }

    private static TreeSet<Long> snapshots(ObjectStore store) {
        TreeSet<Long> out = new TreeSet<>();
        for (ObjectInfo o : store.list(StreamLayout.LOG_PREFIX, null, 1000)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Snapshot s) {
                out.add(s.version());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- snapshots and segments

    @Test
    void snapshotsAreWrittenExactlyAtTheMultiplesOfTheInterval() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(4));
        claim(log, "p"); // version 0: never a snapshot
        for (int i = 1; i <= 13; i++) {
            step(log);
        }
        assertEquals(13, log.state().version());
        assertEquals(new TreeSet<>(List.of(4L, 8L, 12L)), snapshots(fs));
        assertEquals(12, log.state().lastSnapshotVersion());
    }

    @Test
    void aMissedSnapshotIsWrittenExactlyTwoIntervalsAfterTheLastOne() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hooked = new HookStore(fs);
        // the snapshot due at version 4 fails to be written (its conditional write times out)
        hooked.putIfAbsentHook = key -> key.equals(StreamLayout.snapshotKey(4));
        ManifestLog log = ManifestLog.openOrCreate(hooked, StreamConfig.of(1).withSnapshotInterval(4), StreamEnv.defaults(), true);
        claim(log, "p");
        for (int i = 1; i <= 6; i++) {
            step(log);
        }
        assertEquals(new TreeSet<>(), snapshots(fs), "version 6 is 7 versions past none (-1): not yet due");
        step(log); // version 7: 8 = 2 x 4 versions past the last snapshot (none, -1)
        assertEquals(new TreeSet<>(List.of(7L)), snapshots(fs));
        step(log); // version 8: on the interval again
        assertEquals(new TreeSet<>(List.of(7L, 8L)), snapshots(fs));
    }

    @Test
    void aSnapshotWriterStoppedAtItsFailPointWritesNoSnapshotAndTheCommitStands() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        FailPoints fp = new FailPoints().set(FailPoints.BEFORE_SNAPSHOT, new FailPoints.Throw(), 1);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(4),
                StreamEnv.defaults().withFailPoints(fp), true);
        log.writeSnapshotsWith(Runnable::run);
        claim(log, "p");
        for (int i = 1; i <= 4; i++) {
            step(log);
        }
        assertEquals(4, log.state().version(), "the commit of version 4 stands");
        assertEquals(new TreeSet<>(), snapshots(fs), "the snapshot of version 4 stopped at " + FailPoints.BEFORE_SNAPSHOT);
        assertEquals(-1, log.state().lastSnapshotVersion());
    }

    /**
     * Inline (no snapshot writer), the snapshot is written inside the commit that made it due,
     * after its version landed: an unexpected exception from its PUT (not the store's
     * StoreException) used to escape that commit, so the caller took a committed version for a
     * failed commit. It is logged, naming the snapshot and the version, and the commit returns its
     * result; the log opens and later snapshots are written.
     */
    @Test
    void anUnexpectedFailureOfAnInlineSnapshotIsLoggedAndTheCommitReturnsItsResult() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hooked = new HookStore(fs);
        RuntimeException surprise = new UnsupportedOperationException("a store wrapper that cannot do this");
        hooked.putIfAbsentHook = key -> {
            if (key.equals(StreamLayout.snapshotKey(4))) {
                throw surprise;
            }
            return false;
        };
        List<java.util.logging.LogRecord> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger(ManifestLog.class.getName());
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel() == java.util.logging.Level.WARNING) {
                    warnings.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(h);
        try {
            ManifestLog log = ManifestLog.openOrCreate(hooked, StreamConfig.of(1).withSnapshotInterval(4), StreamEnv.defaults(), true);
            claim(log, "p");
            for (int i = 1; i <= 3; i++) {
                step(log);
            }
            CommitResult r = log.commit("p", s -> Changes.batches("p", new ProducerState(1, 4, "c4"), List.of(tgb("p", 1, 4))));
            assertTrue(r.committed());
            assertEquals(4, r.version());
            assertEquals(4, log.state().version());
            assertEquals(new TreeSet<>(), snapshots(fs), "the snapshot of version 4 was not written");
            assertEquals(-1, log.state().lastSnapshotVersion());
            String where = fs.describe() + "/" + StreamLayout.snapshotKey(4);
            assertTrue(warnings.stream().anyMatch(w -> w.getMessage().contains("snapshot " + where + " of version 4 not written")
                    && w.getThrown() == surprise), "a warning naming the snapshot and the version, with the cause");

            ManifestLog reopened = ManifestLog.open(fs);
            assertEquals(4, reopened.state().version());
            assertEquals(4, reopened.entry(3).seq(), "step 3 (version 4) reads back");
            for (int i = 5; i <= 8; i++) {
                step(log);
            }
            // 7: two intervals past the last snapshot (none, -1); 8: on the interval
            assertEquals(new TreeSet<>(List.of(7L, 8L)), snapshots(fs), "later snapshots are written");
            assertEquals(8, ManifestLog.open(fs).state().version());
        } finally {
            jul.removeHandler(h);
        }
    }

    @Test
    void awaitSnapshotsWaitsForTheSnapshotBeingWritten() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        CountDownLatch waiting = new CountDownLatch(1);
        Threads seen = new ForwardingThreads() {
            @Override
            public void await(Lock lock, Condition condition, long nanos) throws InterruptedException {
                waiting.countDown();
                super.await(lock, condition, nanos);
            }
        };
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(4),
                StreamEnv.defaults().withThreads(seen), true);
        AtomicReference<Runnable> handed = new AtomicReference<>();
        log.writeSnapshotsWith(handed::set);
        claim(log, "p");
        for (int i = 1; i <= 4; i++) {
            step(log);
        }
        assertTrue(handed.get() != null, "the snapshot of version 4 was handed to the writer");
        assertEquals(new TreeSet<>(), snapshots(fs));
        // the writer runs the snapshot only once someone waits for it
        Thread writer = new Thread(() -> {
            try {
                if (waiting.await(10, TimeUnit.SECONDS)) {
                    handed.get().run();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        writer.setDaemon(true);
        writer.start();
        log.awaitSnapshots(60_000);
        assertEquals(new TreeSet<>(List.of(4L)), snapshots(fs), "awaitSnapshots returned before the snapshot was written");
        assertEquals(4, log.state().lastSnapshotVersion());
        writer.join(10_000);
    }

    @Test
    void withoutAByteBoundASegmentIsCompleteExactlyWhenItsLastStepIsCommitted() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs,
                StreamConfig.of(1).withIndexSegmentBytes(0).withIndexSegmentSteps(4).withSnapshotInterval(8));
        claim(log, "p");
        for (int i = 1; i <= 8; i++) {
            step(log); // version 8 = step 8 committed: segments [0, 4) and [4, 8) are complete
        }
        assertEquals(8, log.state().committedSteps());
        assertEquals(8, log.state().indexedSteps());
        assertEquals(8, ManifestLog.open(fs).state().indexedSteps(), "the snapshot of version 8 indexes both segments");
        assertTrue(fs.stat(StreamLayout.segmentKey(4)).isPresent());
    }

    @Test
    void aByteBoundSegmentHoldsExactlyTheEntriesThatFitItsBound() {
        int len = Json.write(tgb("p", 1, 1).inForm(StreamConfig.FORMAT_VERSION)).length;
        for (long seq = 2; seq <= 9; seq++) {
            assertEquals(len, Json.write(tgb("p", 1, seq).inForm(StreamConfig.FORMAT_VERSION)).length, "equal entries");
        }
        long bound = 64 + 4L * (len + 1); // the envelope and exactly four entries, each with its comma
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs,
                StreamConfig.of(1).withIndexSegmentBytes(bound).withIndexSegmentSteps(16).withSnapshotInterval(9));
        claim(log, "p");
        for (int i = 1; i <= 9; i++) {
            step(log);
        }
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(8, s.indexedSteps(), "[0, 4) and [4, 8) closed; [8, 9) is still open");
        assertEquals(List.of(4L), s.indexSplits(), "the segment at 4 starts off the multiples of 16");
        ManifestLog fresh = ManifestLog.open(fs, true);
        for (long step = 0; step < 9; step++) {
            assertEquals(step + 1, fresh.entry(step).seq(), "step " + step);
        }
    }

    @Test
    void existingSegmentsOfOneEntryAndOfAWholeSlotAreAdopted() {
        // a whole slot: [0, 4) of 4 steps, written by another committer
        FileStore fs = FileStore.open(dir.resolve("whole"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs,
                StreamConfig.of(1).withIndexSegmentBytes(0).withIndexSegmentSteps(4).withSnapshotInterval(4));
        List<TgbEntry> first = new ArrayList<>();
        for (long seq = 1; seq <= 4; seq++) {
            first.add(tgb("p", 1, seq).inForm(StreamConfig.FORMAT_VERSION));
        }
        assertTrue(fs.putIfAbsent(StreamLayout.segmentKey(0), Json.write(new Snapshot.SegmentFile(0, first))));
        claim(log, "p");
        for (int i = 1; i <= 4; i++) {
            step(log);
        }
        assertEquals(new TreeSet<>(List.of(4L)), snapshots(fs), "the segment was adopted and the snapshot written");
        assertEquals(4, ManifestLog.open(fs).state().indexedSteps());

        // one entry: [0, 1), closed early by another writer's byte bound
        FileStore one = FileStore.open(dir.resolve("one"), true);
        ManifestLog log1 = ManifestLog.openOrCreate(one, StreamConfig.of(1).withIndexSegmentSteps(4).withSnapshotInterval(4));
        assertTrue(one.putIfAbsent(StreamLayout.segmentKey(0), Json.write(new Snapshot.SegmentFile(0, first.subList(0, 1)))));
        claim(log1, "p");
        for (int i = 1; i <= 4; i++) {
            step(log1);
        }
        ManifestState s = ManifestLog.open(one).state();
        assertEquals(4, s.indexedSteps());
        assertEquals(List.of(1L), s.indexSplits(), "the one-entry segment's end became a split");
        ManifestLog fresh = ManifestLog.open(one, true);
        for (long step = 0; step < 4; step++) {
            assertEquals(step + 1, fresh.entry(step).seq(), "step " + step);
        }
    }

    /**
     * Another writer's segment whose entries equal the log's but carry both shard forms (which
     * every reader's step index refuses) is not adopted: no snapshot indexes steps through it,
     * and the steps stay readable from the log's tail. Adopted, a fresh open would index them
     * and every read of step 0 would fail.
     */
    @Test
    void aSegmentWhoseEntriesReadersRefuseIsNotAdopted() {
        FileStore fs = FileStore.open(dir.resolve("both"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs,
                StreamConfig.of(1).withIndexSegmentBytes(0).withIndexSegmentSteps(4).withSnapshotInterval(4));
        List<TgbEntry> first = new ArrayList<>();
        for (long seq = 1; seq <= 4; seq++) {
            first.add(tgb("p", 1, seq).inForm(StreamConfig.FORMAT_VERSION));
        }
        String json = new String(Json.write(new Snapshot.SegmentFile(0, first)), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(json.contains("\"shard_table\""), json);
        String both = json.replace("\"shard_table\"", "\"shards\":[],\"shard_table\"");
        assertTrue(fs.putIfAbsent(StreamLayout.segmentKey(0), both.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        claim(log, "p");
        for (int i = 1; i <= 4; i++) {
            step(log);
        }
        assertEquals(new TreeSet<Long>(), snapshots(fs), "no snapshot indexes steps through a segment readers refuse");
        assertEquals(0, ManifestLog.open(fs).state().indexedSteps());
        ManifestLog fresh = ManifestLog.open(fs, true);
        for (long step = 0; step < 4; step++) {
            assertEquals(step + 1, fresh.entry(step).seq(), "step " + step);
        }
    }

    // ---------------------------------------------------------------- committing

    /** A store on which a rival commits the version ours is about to write, {@code races} times. */
    private static HookStore rivalWins(FileStore fs, AtomicInteger races, Runnable alsoBefore) {
        HookStore hooked = new HookStore(fs);
        ManifestLog rival = ManifestLog.open(fs);
        hooked.putIfAbsentHook = key -> {
            if (StreamLayout.parse(key) instanceof StreamLayout.Version && races.getAndDecrement() > 0) {
                alsoBefore.run();
                claim(rival, "r" + races.get());
            }
            return false;
        };
        return hooked;
    }

    @Test
    void aContendedCommitBacksOffOnTheClockDoublingUpTo64Ms() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        claim(ManifestLog.openOrCreate(fs, StreamConfig.of(1)), "p");
        AtomicInteger races = new AtomicInteger(12);
        ManualClock clock = ManualClock.autoAdvancing(1_000_000);
        HookStore hooked = rivalWins(fs, races, () -> {});
        ManifestLog log = ManifestLog.open(hooked, StreamEnv.defaults().withClock(clock).withRandom(new Random(7)));
        long before = clock.sleptMillis();
        CommitResult r = log.commit("p", s -> Changes.producerState("p", new ProducerState(1, 0, "mine")));
        assertTrue(r.committed());
        assertEquals(12, r.conflicts());
        long slept = clock.sleptMillis() - before;
        // jittered below 1, 2, 4, ..., 64, 64, ...: at most 1 + 2 + 4 + 8 + 16 + 32 + 6 x 64
        assertTrue(slept <= 1 + 2 + 4 + 8 + 16 + 32 + 6 * 64, "slept " + slept + " ms");
        assertTrue(slept > 64, "backed off " + slept + " ms in 12 lost races");
        assertEquals("mine", ManifestLog.open(fs).state().producer("p").cursor());
    }

    @Test
    void aCommitThatKeepsLosingGivesUpAtItsDeadlineNamingTheLastVersionTried() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        claim(ManifestLog.openOrCreate(fs, StreamConfig.of(1)), "p");
        AtomicInteger races = new AtomicInteger(40);
        ManualClock clock = ManualClock.autoAdvancing(1_000_000);
        HookStore hooked = rivalWins(fs, races, () -> clock.advance(10_000)); // each lost race takes 10 s
        ManifestLog log = ManifestLog.open(hooked, StreamEnv.defaults().withClock(clock).withRandom(new Random(7)));
        CommitTimeoutException e = assertThrows(CommitTimeoutException.class,
                () -> log.commit("p", s -> Changes.producerState("p", new ProducerState(1, 0, "mine"))));
        assertEquals("p", e.committer());
        assertEquals(120_000, e.timeoutMillis());
        assertEquals(12, e.conflicts(), "the 12th lost race ends past 120 s");
        assertEquals(StreamLayout.versionKey(ManifestLog.open(fs).state().version()), e.key(), "the version last lost");
        assertEquals(null, ManifestLog.open(fs).state().producer("p").cursor(), "nothing of it was committed");
    }

    @Test
    void aRewriteAfterAStalledWriteIsRefusedWhenALaterVersionShowsItsVersionWasReclaimed() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        claim(ManifestLog.openOrCreate(fs, StreamConfig.of(1)), "p"); // version 0
        ManualClock clock = new ManualClock(1_000_000);
        HookStore hooked = new HookStore(fs);
        ManifestLog rival = ManifestLog.open(fs);
        AtomicInteger writes = new AtomicInteger();
        hooked.putIfAbsentHook = key -> {
            if (!key.equals(StreamLayout.versionKey(1)) || writes.getAndIncrement() > 0) {
                return false;
            }
            // the write of version 1 stalls past half the log grace; meanwhile versions 1 and 2 are
            // committed and 1 is deleted (by log GC of a build before tombstones): then it times out
            clock.advance(rival.config().logGraceMs() / 2 + 1);
            claim(rival, "r1");
            claim(rival, "r2");
            fs.delete(StreamLayout.versionKey(1));
            return true;
        };
        ManifestLog log = ManifestLog.open(hooked, StreamEnv.defaults().withClock(clock));
        CommitStateUnknownException e = assertThrows(CommitStateUnknownException.class,
                () -> log.commit("p", s -> Changes.producerState("p", new ProducerState(1, 0, "mine"))));
        assertTrue(e.getMessage().contains(StreamLayout.versionKey(2) + " exists"), e.getMessage());
        assertFalse(fs.stat(StreamLayout.versionKey(1)).isPresent(), "version 1 was not written again");
    }

    // ---------------------------------------------------------------- following and reading

    @Test
    void aFollowerThatFindsAGapNamesTheMissingVersion() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog writer = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        for (int i = 0; i < 4; i++) {
            claim(writer, "p" + i); // versions 0..3
        }
        ManualClock clock = new ManualClock(1_000_000);
        ManifestLog follower = ManifestLog.open(fs, true, StreamEnv.defaults().withClock(clock));
        assertEquals(3, follower.state().version());
        claim(writer, "p4");
        claim(writer, "p5");
        fs.delete(StreamLayout.versionKey(4)); // not a tombstone, and no snapshot covers it
        clock.advance(follower.config().logGraceMs() / 2 + 1);
        LogFormatException e = assertThrows(LogFormatException.class, follower::refresh);
        assertTrue(e.getMessage().contains("version 4 is missing but " + StreamLayout.versionKey(5) + " exists"), e.getMessage());
    }

    /** Opens the log of {@code fs} on a clock that stands still, counting the LISTs of {@code _log/} the open makes. */
    private static int logListingsOfAnOpen(FileStore fs) {
        HookStore hooked = new HookStore(fs);
        AtomicInteger lists = new AtomicInteger();
        hooked.listHook = (prefix, after, limit) -> {
            if (prefix.equals(StreamLayout.LOG_PREFIX)) {
                lists.incrementAndGet();
            }
        };
        ManifestLog log = ManifestLog.open(hooked, StreamEnv.defaults().withClock(new ManualClock(1_000_000)));
        // and the commit right after it needs no look of its own either: the open's head confirmation is fresh
        claim(log, "late");
        return lists.get();
    }

    /**
     * A listing that completes confirms the head (nothing above the newest version it saw existed
     * when it started): the open that loaded the log from it follows from there with one GET of
     * the next version, and the commit after it with another, never a second LIST. Without that
     * confirmation each open would LIST the log twice, the second time only to learn what the
     * first had shown. Both ways of loading: from the snapshot the hint names, and from version 0
     * of a log that has no snapshot.
     */
    @Test
    void anOpenThatListedTheLogTrustsThatListingAsAHeadConfirmation() {
        FileStore fromSnapshot = FileStore.open(dir.resolve("snap"), true);
        ManifestLog writer = ManifestLog.openOrCreate(fromSnapshot, StreamConfig.of(1).withSnapshotInterval(4));
        claim(writer, "p");
        for (int i = 1; i <= 5; i++) {
            step(writer); // versions 1..5: a snapshot (and its hint) at 4
        }
        assertEquals(new TreeSet<>(List.of(4L)), snapshots(fromSnapshot));
        assertEquals(1, logListingsOfAnOpen(fromSnapshot), "opened from the snapshot of version 4: one LIST");

        FileStore fromZero = FileStore.open(dir.resolve("zero"), true);
        ManifestLog w0 = ManifestLog.openOrCreate(fromZero, StreamConfig.of(1).withSnapshotInterval(64));
        claim(w0, "p");
        step(w0);
        step(w0); // versions 0..2, no snapshot, no hint
        assertEquals(new TreeSet<>(), snapshots(fromZero));
        assertEquals(1, logListingsOfAnOpen(fromZero), "opened from version 0: one LIST");
    }

    @Test
    void aReaderThatForgotStepsReadsTheRestAndOthersCanStillRefreshIt() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog writer = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        claim(writer, "p");
        for (int i = 0; i < 6; i++) {
            step(writer);
        }
        ManifestLog reader = ManifestLog.open(fs, true);
        reader.forgetBefore(4);
        assertEquals(4, reader.state().tailFirstStep());
        assertEquals(2, reader.state().tail().size());
        assertEquals(5, reader.entry(4).seq());
        assertEquals(6, reader.entry(5).seq());
        assertThrows(IllegalStateException.class, () -> reader.entry(3));
        step(writer);
        // the mutex was let go: another thread refreshes at once
        ManifestState s = CompletableFuture.supplyAsync(reader::refresh).get(10, TimeUnit.SECONDS);
        assertEquals(7, s.committedSteps());
        assertEquals(7, reader.entry(6).seq());
    }

    @Test
    void aLaggingReaderWhoseSegmentGCDeletedIsToldTheStepIsBelowTheFloor() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        ManifestLog writer = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withIndexSegmentSteps(4).withSnapshotInterval(4)
                .withRetention(1, 0));
        claim(writer, "p");
        for (int i = 0; i < 12; i++) {
            step(writer);
        }
        ManifestLog lagging = ManifestLog.open(fs, true);
        assertTrue(lagging.state().indexedSteps() >= 8, "indexed " + lagging.state().indexedSteps());
        // a checkpoint at step 10 raises the floor; GC records it and deletes what lies below it
        writer.commit("ckpt", s -> Changes.checkpoint(new CheckpointRecord(10, "c10", 1)));
        writer.commit("gc", s -> Changes.reclaimedBelow(8));
        fs.delete(StreamLayout.segmentKey(0));
        fs.delete(StreamLayout.segmentKey(4));
        BelowFloorException e = assertThrows(BelowFloorException.class, () -> lagging.entry(1));
        assertEquals(1, e.step());
        assertEquals(10, e.floor());
        // a segment gone above the floor is not GC's doing: the log is damaged, and says where
        fs.delete(StreamLayout.segmentKey(8));
        LogFormatException lost = assertThrows(LogFormatException.class, () -> lagging.entry(11));
        assertTrue(lost.getMessage().contains("index segment of step 11 is missing"), lost.getMessage());
    }

    // ---------------------------------------------------------------- states

    private static final StreamConfig CFG = StreamConfig.of(1).withIndexSegmentSteps(4);

    /** Version 10, 10 steps, [0, 8) indexed, steps 8 and 9 in the tail, last snapshot 5. */
    private static ManifestState tenSteps() {
        return new ManifestState(CFG, 10, 10, Map.of("p", new ProducerState(1, 10, "c10")), 8, 8,
                List.of(tgb("p", 1, 9), tgb("p", 1, 10)), List.of(), 0, 5, false);
    }

    @Test
    void aSnapshotOfExactlyThisStateIsFoldedInAndANewerOneIsIgnored() {
        ManifestState s = tenSteps();
        Snapshot same = new Snapshot(CFG.formatVersion(), 10, 10, s.producers(), 8, s.tail(), List.of(), 0);
        ManifestState folded = s.withIndexingOf(same);
        assertEquals(10, folded.lastSnapshotVersion(), "same version, same steps, indexed where the tail starts");
        assertEquals(s.tail(), folded.tail());
        Snapshot newer = new Snapshot(CFG.formatVersion(), 11, 11, s.producers(), 8, s.tail(), List.of(), 0);
        assertSame(s, s.withIndexingOf(newer));
        assertSame(s, s.withIndexingOf(new Snapshot(CFG.formatVersion(), 10, 11, s.producers(), 8, s.tail(), List.of(), 0)));
    }

    @Test
    void trimmingDropsExactlyTheStepsBelowTheGivenOne() {
        ManifestState t = tenSteps().trimmedBefore(9);
        assertEquals(9, t.tailFirstStep());
        assertEquals(List.of(tgb("p", 1, 10)), t.tail());
        assertTrue(t.tailPartial());
        assertSame(t, t.trimmedBefore(9), "nothing more to drop");
    }

    @Test
    void splitsOfSegmentsWhollyBelowTheReclaimedStepAreForgotten() {
        // [0, 4) and the byte-bounded [4, 5), [5, 6), [6, 7) indexed now; steps 4..6 in the tail before
        List<TgbEntry> tail = List.of(tgb("p", 1, 5), tgb("p", 1, 6), tgb("p", 1, 7));
        for (long reclaimed : new long[] {7, 6}) {
            ManifestState s = new ManifestState(CFG, 7, 7, Map.of("p", new ProducerState(1, 7, "c7")), 4, 4, tail, List.of(),
                    reclaimed, -1, false);
            ManifestState indexed = s.withIndexed(7, 7, List.of(5L, 6L));
            assertEquals(7, indexed.indexedSteps());
            assertEquals(reclaimed == 7 ? List.of() : List.of(6L), indexed.indexSplits(), "reclaimed below " + reclaimed);
        }
    }

    @Test
    void aSnapshotTailOutOfSequenceNamesItsStep() {
        Snapshot bad = new Snapshot(CFG.formatVersion(), 9, 6, Map.of("p", new ProducerState(1, 5, "c5")), 4,
                List.of(tgb("p", 1, 5), tgb("p", 1, 5)), List.of(), 0);
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestState.fromSnapshot(CFG, bad, "snap"));
        assertTrue(e.getMessage().contains("step 5 (TGB p/1-5)"), e.getMessage());
    }

    @Test
    void aCheckpointRecordedAgainAtTheSameStepLeavesOneRecord() {
        CheckpointRecord five = new CheckpointRecord(5, "a", 1);
        List<CheckpointRecord> l = ManifestState.retain(List.of(five), List.of(new CheckpointRecord(5, "b", 2)), 2);
        assertEquals(List.of(five), l);
        assertEquals(List.of(five), ManifestState.retain(l, List.of(new CheckpointRecord(4, "c", 3)), 2), "an older step: ignored");
        CheckpointRecord six = new CheckpointRecord(6, "d", 4);
        CheckpointRecord seven = new CheckpointRecord(7, "e", 5);
        assertEquals(List.of(six, seven), ManifestState.retain(l, List.of(six, seven), 2), "the newest two are kept");
    }

    // ---------------------------------------------------------------- SharedTail

    @Test
    void aSharedTailGrowsPastItsArrayAndAppendsToOneListNeverShowInAnother() {
        List<String> one = SharedTail.append(List.of(), List.of("a"));
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            more.add("m" + i);
        }
        List<String> big = SharedTail.append(one, more); // 21 > the 16 slots of one's array
        assertEquals(21, big.size());
        assertEquals("a", big.get(0));
        assertEquals("m19", big.get(20));
        List<String> x = SharedTail.append(one, List.of("x"));
        List<String> y = SharedTail.append(one, List.of("y"));
        List<String> z = SharedTail.append(one, List.of("z"));
        assertEquals(List.of("a", "x"), x);
        assertEquals(List.of("a", "y"), y);
        assertEquals(List.of("a", "z"), z);
        assertEquals(List.of("a"), one);
        assertEquals(21, big.size());
        assertEquals("m0", big.get(1));
        // each list reads only its own slots, though the array holds more
        assertThrows(IndexOutOfBoundsException.class, () -> one.get(1));
        assertThrows(IndexOutOfBoundsException.class, () -> x.get(2));
        assertThrows(IndexOutOfBoundsException.class, () -> one.get(-1));
    }

    // ---------------------------------------------------------------- config

    private static StreamConfig config(int worldSize, int snapshotInterval, int keep, long maxLag, int segmentSteps, long logGrace,
                                       long orphanGrace, long segmentBytes) {
        return new StreamConfig("lakestream", 2, worldSize, snapshotInterval, keep, maxLag, 0, segmentSteps, logGrace, orphanGrace,
                segmentBytes, StreamConfig.LAYOUT_PRODUCER);
    }

    private static void refused(StreamConfig c, String field) {
        LogFormatException e = assertThrows(LogFormatException.class, () -> c.validate("cfg"), field);
        assertTrue(e.getMessage().startsWith("cfg: ") && e.getMessage().contains(field), e.getMessage());
    }

    @Test
    void configValuesExactlyAtTheirBoundsAreAcceptedAndOnePastIsRefusedNamingTheField() {
        config(1, 1, 1, 0, 1, 1, 0, 0).validate("cfg"); // every lower bound
        config(1 << 20, 64, 2, 0, 1024, 600_000, 3_600_000, 1 << 20).validate("cfg");
        refused(config(0, 1, 1, 0, 1, 1, 0, 0), "world_size 0");
        refused(config((1 << 20) + 1, 1, 1, 0, 1, 1, 0, 0), "world_size " + ((1 << 20) + 1));
        refused(config(1, 0, 1, 0, 1, 1, 0, 0), "snapshot_interval 0");
        refused(config(1, 1, 0, 0, 1, 1, 0, 0), "keep_checkpoints 0");
        refused(config(1, 1, 1, -1, 1, 1, 0, 0), "max_lag_steps -1");
        refused(config(1, 1, 1, 0, 0, 1, 0, 0), "index_segment_steps 0");
        refused(config(1, 1, 1, 0, 1, 0, 0, 0), "log_grace_ms 0");
        refused(config(1, 1, 1, 0, 1, 1, -1, 0), "orphan_grace_ms -1");
        refused(config(1, 1, 1, 0, 1, 1, 0, -1), "index_segment_bytes -1");
        StreamConfig.of(1).asVersion1().validate("cfg");
        refused(new StreamConfig("lakestream", 3, 1, 1, 1, 0, 0, 1, 1, 0, 0, StreamConfig.LAYOUT_PRODUCER), "format_version 3");
        refused(new StreamConfig("lakestream", 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, null), "format_version 0");
    }

    @Test
    void onlyVersion2StreamsWriteCompactEntries() {
        assertTrue(StreamConfig.of(1).compactEntries());
        assertFalse(StreamConfig.of(1).asVersion1().compactEntries());
    }

    // ---------------------------------------------------------------- entries

    private static TgbEntry entry(String codec, long objectSize, long length, long raw) {
        return new TgbEntry("p", 1, 1, "c1", StreamLayout.batchObjectKey("p", 1, 1), objectSize, codec,
                List.of(new ShardEntry(0, length, 7, raw, length == 0 ? 0 : 1, 0)));
    }

    @Test
    void entryBoundsAreExact() {
        entry("none", 0, 0, 0).validate(1, "v"); // an empty object holding an empty shard
        entry("lz4", 10, 10, 10 * TgbEntry.MAX_LZ4_RATIO + 64).validate(1, "v"); // the most LZ4 can expand 10 bytes to
        LogFormatException e = assertThrows(LogFormatException.class,
                () -> entry("lz4", 10, 10, 10 * TgbEntry.MAX_LZ4_RATIO + 65).validate(1, "v"));
        assertTrue(e.getMessage().contains("raw_length 2625 is impossible"), e.getMessage());
        e = assertThrows(LogFormatException.class, () -> entry("none", -1, 0, 0).validate(1, "v"));
        assertTrue(e.getMessage().contains("object_size -1 is negative"), e.getMessage());
    }

    @Test
    void aHandedOverEntryIsCheckedAsTheLogChecksIt() {
        TgbEntry good = tgb("p", 1, 3).inForm(StreamConfig.FORMAT_VERSION);
        assertEquals(good, EntryWire.decode(EntryWire.encode(good), 1, "rank 0"));
        TgbEntry otherKey = new TgbEntry("p", 1, 3, "c3", StreamLayout.batchObjectKey("q", 1, 3), 10, "none",
                List.of(new ShardEntry(0, 10, 7, 10, 1, 0)));
        LogFormatException e = assertThrows(LogFormatException.class, () -> EntryWire.decode(EntryWire.encode(otherKey), 1, "rank 0"));
        assertTrue(e.getMessage().startsWith("rank 0: TGB p/1-3") && e.getMessage().contains("not this batch's object key"),
                e.getMessage());
        assertThrows(LogFormatException.class, () -> EntryWire.decode(EntryWire.encode(good), 2, "rank 0"), "world size 2");
    }

    @Test
    void aRecordRangeHoldsExactlyItsBoundsAndIsStatedOnlyForOneDimensionalIntegerIds() {
        RecordRange r = new RecordRange(5L, 9L);
        assertTrue(r.mayHold(5) && r.mayHold(9) && r.mayHold(7));
        assertFalse(r.mayHold(4) || r.mayHold(10));
        assertEquals(new RecordRange(2L, 8L), RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofLongs(new long[] {8, 2}, 2)))));
        assertEquals(new RecordRange(3L, 4L), RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofInts(new int[] {4, 3}, 2)))));
        assertNull(RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofLongs(new long[] {1, 2}, 1, 2)))), "2-D");
        assertNull(RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofFloats(new float[] {1, 2}, 2)))), "F32");
        assertNull(RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, new TensorData(DType.I16, new long[] {1}, new byte[2])))),
                "I16");
        assertNull(RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofLongs(new long[] {1}, 1),
                RecordRange.LAST_RECORD_ID, TensorData.ofFloats(new float[] {1}, 1)))), "a last id of another type");
        assertInstanceOf(RecordRange.class, RecordRange.of(List.of(Map.of(RecordRange.RECORD_ID, TensorData.ofLongs(new long[] {1}, 1),
                RecordRange.LAST_RECORD_ID, TensorData.ofInts(new int[] {3}, 1)))));
    }
}
