package io.lakestream.review;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lakestream.LakestreamException;
import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorBlob;
import io.lakestream.format.TensorData;
import io.lakestream.log.Changes;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.Snapshot;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.VersionFile;
import io.lakestream.log.VersionTombstone;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.retention.GcReport;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.JumpingClock;
import io.lakestream.testkit.ManualClock;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The protocol review's reproducers (first pass on 530a309, second pass on da5175b) ported
 * to the current API, scenario kept, assertion inverted: each test asserts the RIGHT behaviour,
 * so a pass means the hole is closed. Where the old code used the JVM-wide log grace (4 s) and
 * real sleeps, the port uses the stream's log grace (G below) and moves the clock of everyone
 * involved (producers, the stalled committer, GC) forward by G + 300 ms at once: the stall is as
 * long as before to the protocol and costs the test no time.
 */
class ProtocolReviewPortTest {
    @TempDir
    Path dir;

    /** The clock of every producer, log and GC of the log-grace holes (1 to 3). */
    final JumpingClock clock = new JumpingClock();
    final StreamEnv env = StreamEnv.defaults().withClock(clock);

    static final long G = 1_500;
    static final SyntheticSource SRC = new SyntheticSource(100_000, 1, 0, 1, 4);

    static List<Map<String, TensorData>> batch(long start) {
        return SRC.globalBatch(SRC.take(start, 2), 1);
    }

    /** Returns once one of {@code producers} waits for flow control (a checkpoint), or fails after 30 s. */
    static void awaitFlowControlWait(TgbProducer... producers) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            for (TgbProducer p : producers) {
                String why = p.waitingReason();
                if (why != null && why.startsWith("flow control")) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "no producer waits for flow control within 30 s");
            Thread.onSpinWait();
        }
    }

    static void commitState(ManifestLog w, long i) {
        w.commit("w", s -> new Changes(Map.of("w", new ProducerState(1, i, "c" + i)), List.of(), List.of()));
    }

    static ProducerOptions one(boolean inline) {
        ProducerOptions o = ProducerOptions.defaults().withGroup(1, 1, false);
        return inline ? o.withWriteParallelism(0) : o;
    }

    /** The version file at v, or empty if absent or a tombstone. */
    static Optional<VersionFile> versionAt(ObjectStore fs, long v) {
        Optional<byte[]> b = fs.getIfPresent(ManifestLog.versionKey(v));
        if (b.isEmpty() || VersionTombstone.is(b.get())) {
            return Optional.empty();
        }
        return Optional.of(Json.read(b.get(), VersionFile.class, "v" + v));
    }

    static long stepsBy(ManifestLog log, String producer) {
        long n = 0;
        ManifestState s = log.state();
        for (long st = Math.max(s.reclaimedBelowStep(), 0); st < s.committedSteps(); st++) {
            n += log.entry(st).producer().equals(producer) ? 1 : 0;
        }
        return n;
    }

    static void appendAndCommit(TgbProducer p, List<Map<String, TensorData>> b, String cursor, boolean inline) {
        p.append(b, cursor);
        if (!inline) {
            p.commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Hole 1 (A): lost confirmation + stall in the read-back + log GC -> must not re-create v2
    @ParameterizedTest(name = "inline={0}")
    @ValueSource(booleans = {true, false})
    void hole1_ambiguousCommitStalledPastLogGcDoesNotRecreateOrLoseTheBatch(boolean inline) {
        FileStore fs = FileStore.open(dir.resolve("a"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(G);
        TgbProducer c = TgbProducer.open(hs, "c", cfg, one(inline), env); // v0
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one(inline), env); // v1
        String key = ManifestLog.versionKey(2);
        AtomicBoolean failedOnce = new AtomicBoolean();
        AtomicBoolean stalled = new AtomicBoolean();
        AtomicReference<String> gcSaw = new AtomicReference<>();
        hs.putIfAbsentHook = k -> k.equals(key) && failedOnce.compareAndSet(false, true);
        hs.getHook = k -> {
            if (k.equals(key) && failedOnce.get() && stalled.compareAndSet(false, true)) {
                for (int i = 0; i < 20; i++) {
                    appendAndCommit(b, batch(1000 + 2L * i), "b" + i, inline); // versions 2..21
                }
                clock.jump(G + 300);
                GcReport rep = new GarbageCollector(ManifestLog.open(fs, env), 3_600_000, 0).run(false);
                gcSaw.set(rep.toJson() + " v2 still a version file: " + versionAt(fs, 2).isPresent());
            }
        };
        Throwable thrown = null;
        try {
            appendAndCommit(c, batch(0), "next=2", inline);
        } catch (RuntimeException e) {
            thrown = e;
        }
        System.out.println("[1/" + (inline ? "inline" : "threaded") + "] gc during stall: " + gcSaw.get());
        System.out.println("[1] c's commit: " + (thrown == null ? "returned, committedSeq=" + c.committedSeq() : thrown));
        assertTrue(stalled.get(), "the interleaving happened");
        Optional<VersionFile> v2 = versionAt(fs, 2);
        assertTrue(v2.isEmpty() || !v2.get().committer().equals("c"), "v2 was re-created by c: " + v2);
        ManifestLog fresh = ManifestLog.open(fs);
        long inLog = fresh.state().producer("c").seq();
        System.out.println("[1] fresh open: version " + fresh.state().version() + ", c's seq in log " + inLog + ", c's steps "
                + stepsBy(fresh, "c"));
        assertEquals(inLog, stepsBy(fresh, "c"), "c's seq matches its steps");
        if (thrown == null) {
            assertEquals(1, c.committedSeq());
            assertEquals(1, inLog, "c reported success, so its batch is in the log");
        } else {
            assertInstanceOf(CommitStateUnknownException.class, thrown, "only 'commit state unknown' is an acceptable failure");
        }
        c.close();
        b.close();
    }

    // Hole 1, variant: the first put LANDED (reply lost), GC then reclaims c's own version during the stall
    @ParameterizedTest(name = "inline={0}")
    @ValueSource(booleans = {true, false})
    void hole1b_landedButUnansweredVersionReclaimedDuringStallIsStillCommittedExactlyOnce(boolean inline) {
        FileStore fs = FileStore.open(dir.resolve("a2"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(G);
        TgbProducer c = TgbProducer.open(hs, "c", cfg, one(inline), env); // v0
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one(inline), env); // v1
        String key = ManifestLog.versionKey(2);
        AtomicBoolean lost = new AtomicBoolean();
        AtomicBoolean stalled = new AtomicBoolean();
        hs.afterPutIfAbsent = k -> {
            if (k.equals(key) && lost.compareAndSet(false, true)) {
                throw new StoreException("hook: reply of the conditional write of " + k + " lost", k);
            }
        };
        hs.getHook = k -> {
            if (k.equals(key) && lost.get() && stalled.compareAndSet(false, true)) {
                for (int i = 0; i < 20; i++) {
                    appendAndCommit(b, batch(1000 + 2L * i), "b" + i, inline); // versions 3..22
                }
                clock.jump(G + 300);
                new GarbageCollector(ManifestLog.open(fs, env), 3_600_000, 0).run(false);
            }
        };
        Throwable thrown = null;
        try {
            appendAndCommit(c, batch(0), "next=2", inline);
        } catch (RuntimeException e) {
            thrown = e;
        }
        System.out.println("[1b/" + (inline ? "inline" : "threaded") + "] c: " + (thrown == null ? "ok seq " + c.committedSeq() : thrown)
                + "; v2 tombstone=" + VersionTombstone.is(fs.get(key)));
        assertTrue(stalled.get());
        ManifestLog fresh = ManifestLog.open(fs);
        assertEquals(1, fresh.state().producer("c").seq(), "c's landed version is in the history");
        assertEquals(1, stepsBy(fresh, "c"));
        if (thrown == null) {
            assertEquals(1, c.committedSeq());
            appendAndCommit(c, batch(2), "next=4", inline);
            ManifestLog again = ManifestLog.open(fs);
            assertEquals(2, again.state().producer("c").seq());
            assertEquals(2, stepsBy(again, "c"), "exactly once");
        } else {
            assertInstanceOf(CommitStateUnknownException.class, thrown);
        }
        c.close();
        b.close();
    }

    // Hole 1, variant: c freezes after its last head check, right before sending the put of v2 (no error at all)
    @Test
    void hole1c_committerFrozenBeforeItsPutPastLogGcDoesNotRecreateTheVersion() {
        FileStore fs = FileStore.open(dir.resolve("a3"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(G);
        TgbProducer c = TgbProducer.open(hs, "c", cfg, one(true), env); // v0
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one(true), env); // v1
        String key = ManifestLog.versionKey(2);
        AtomicBoolean frozen = new AtomicBoolean();
        hs.putIfAbsentHook = k -> {
            if (k.equals(key) && frozen.compareAndSet(false, true)) {
                for (int i = 0; i < 20; i++) {
                    b.append(batch(1000 + 2L * i), "b" + i); // versions 2..21
                }
                clock.jump(G + 300);
                new GarbageCollector(ManifestLog.open(fs, env), 3_600_000, 0).run(false);
            }
            return false; // then the put goes out
        };
        c.append(batch(0), "next=2");
        assertTrue(frozen.get());
        Optional<VersionFile> v2 = versionAt(fs, 2);
        assertTrue(v2.isEmpty() || !v2.get().committer().equals("c"), "v2 re-created by c");
        ManifestLog fresh = ManifestLog.open(fs);
        assertEquals(1, c.committedSeq());
        assertEquals(1, fresh.state().producer("c").seq());
        assertEquals(1, stepsBy(fresh, "c"));
        c.close();
        b.close();
    }

    // ------------------------------------------------------------------------------------------
    // Hole 2 (F): a writer clock 1 h ahead must not let a committer re-create a reclaimed version
    @ParameterizedTest(name = "inline={0}")
    @ValueSource(booleans = {true, false})
    void hole2_writerClockAheadDoesNotMakeReadersDiverge(boolean inline) {
        FileStore fs = FileStore.open(dir.resolve("g"), true);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(G);
        TgbProducer c = TgbProducer.open(fs, "c", cfg, one(inline), env); // v0
        VersionFile skewed = new VersionFile(1, "tok", "s", clock.wallMillis() + 3_600_000, 0,
                new TreeMap<>(Map.of("s", new ProducerState(1, 0, null))), List.of(), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), Json.write(skewed)));
        c.log().refresh(); // c at v1
        ManifestLog r = ManifestLog.open(fs, true, env); // reader at v1
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one(inline), env); // v2
        for (int i = 0; i < 20; i++) {
            appendAndCommit(b, batch(1000 + 2L * i), "b" + i, inline);
        }
        clock.jump(G + 300);
        GcReport rep = new GarbageCollector(ManifestLog.open(fs, env), 3_600_000, 0).run(false);
        System.out.println("[2] gc: " + rep.toJson());
        assertTrue(versionAt(fs, 2).isEmpty(), "GC reclaimed v2");
        appendAndCommit(c, batch(0), "next=2", inline);
        Optional<VersionFile> v2 = versionAt(fs, 2);
        assertTrue(v2.isEmpty(), "v2 was re-created: " + v2);
        r.refresh();
        ManifestLog fresh = ManifestLog.open(fs, true);
        System.out.println("[2] reader r at " + r.state().version() + ", fresh at " + fresh.state().version());
        assertEquals(fresh.state().version(), r.state().version());
        for (long s = Math.max(r.state().tailFirstStep(), 0); s < fresh.state().committedSteps(); s++) {
            assertEquals(fresh.entry(s).object(), r.entry(s).object(), "step " + s);
        }
        assertEquals(1, fresh.state().producer("c").seq());
        assertEquals(1, stepsBy(fresh, "c"));
        c.close();
        b.close();
    }

    // ------------------------------------------------------------------------------------------
    // Hole 3 (B): log GC between two LIST pages of a parked follower's reload
    @Test
    void hole3_logGcBetweenTwoListPagesDoesNotFailAParkedFollower() {
        FileStore fs = FileStore.open(dir.resolve("b"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(8).withLogGraceMs(G);
        ManifestLog w = ManifestLog.openOrCreate(fs, cfg, env);
        for (int i = 0; i < 4; i++) {
            commitState(w, i);
        }
        ManifestLog reader = ManifestLog.open(hs, true, env);
        ManifestLog control = ManifestLog.open(fs, true, env);
        assertEquals(3, reader.state().version());
        for (int i = 4; i <= 120; i++) {
            commitState(w, i);
        }
        clock.jump(G + 300);
        new GarbageCollector(w, 3_600_000, 0).run(false);
        assertTrue(versionAt(fs, 4).isEmpty(), "v4 reclaimed");
        long t0 = System.currentTimeMillis();
        for (int i = 121; i <= 2400; i++) {
            commitState(w, i);
        }
        System.out.println("[3] 2280 commits took " + (System.currentTimeMillis() - t0) + " ms; head=" + w.state().version());
        clock.jump(G + 300);
        AtomicInteger pages = new AtomicInteger();
        AtomicReference<String> gcRep = new AtomicReference<>();
        hs.listHook = (prefix, after, limit) -> {
            if (limit == 1000 && "_log/".equals(prefix) && pages.incrementAndGet() == 2) {
                gcRep.set(new GarbageCollector(ManifestLog.open(fs, env), 3_600_000, 0).run(false).toJson());
            }
        };
        ManifestState s = reader.refresh();
        System.out.println("[3] pages listed " + pages.get() + "; GC between page 1 and 2: " + gcRep.get());
        assertTrue(pages.get() >= 2, "the reload listed more than one page");
        assertEquals(w.state().version(), s.version());
        assertEquals("c2400", s.producer("w").cursor());
        assertEquals(w.state().version(), control.refresh().version());
    }

    // ------------------------------------------------------------------------------------------
    // Hole 4 (G): append throws after queueing; the caller retries the same records
    @ParameterizedTest(name = "point={0}")
    @ValueSource(strings = {FailPoints.BEFORE_VERSION_PUT, FailPoints.AFTER_VERSION_PUT})
    void hole4_retryAfterAFailedAppendNeverCommitsTheRecordsTwice_inline(String point) {
        FileStore fs = FileStore.open(dir.resolve("h"), true);
        FailPoints fp = new FailPoints();
        StreamEnv env = StreamEnv.defaults().withFailPoints(fp);
        StreamConfig cfg = StreamConfig.of(1);
        TgbProducer p = TgbProducer.open(fs, "p", cfg, one(true), env);
        fp.set(point, new FailPoints.Throw(), 1);
        Exception e = assertThrows(RuntimeException.class, () -> p.append(batch(0), "next=2"));
        System.out.println("[4/" + point + "] append threw: " + e);
        Exception retry = null;
        try {
            p.append(batch(0), "next=2"); // the caller retries the same records
        } catch (RuntimeException ex) {
            retry = ex;
        }
        System.out.println("[4] the retry on the same instance: " + (retry == null ? "ACCEPTED" : retry));
        p.close();
        // what a caller then does: a new instance, resume from the committed cursor
        try (TgbProducer q = TgbProducer.open(fs, "p", cfg, one(true))) {
            long next = q.committedCursor() == null ? 0 : SyntheticSource.parseCursor(q.committedCursor());
            if (next == 0) {
                q.append(batch(0), "next=2");
            }
        }
        ManifestLog log = ManifestLog.open(fs, true);
        assertEquals(1, log.state().committedSteps(), "records 0..1 committed exactly once");
    }

    @ParameterizedTest(name = "point={0}")
    @ValueSource(strings = {FailPoints.BEFORE_VERSION_PUT, FailPoints.AFTER_VERSION_PUT})
    void hole4_retryAfterAFailedAppendNeverCommitsTheRecordsTwice_threaded(String point) {
        FileStore fs = FileStore.open(dir.resolve("h2"), true);
        FailPoints fp = new FailPoints();
        StreamEnv env = StreamEnv.defaults().withFailPoints(fp);
        StreamConfig cfg = StreamConfig.of(1);
        TgbProducer p = TgbProducer.open(fs, "p", cfg, one(false), env);
        fp.set(point, new FailPoints.Throw(), 1);
        RuntimeException first = null;
        try {
            p.append(batch(0), "next=2");
            p.commit();
        } catch (RuntimeException e) {
            first = e;
        }
        System.out.println("[4t/" + point + "] first: " + first);
        assertNotNull(first, "the failure surfaced");
        Exception retry = null;
        try {
            p.append(batch(0), "next=2");
            p.commit();
        } catch (RuntimeException ex) {
            retry = ex;
        }
        System.out.println("[4t] the retry on the same instance: " + (retry == null ? "ACCEPTED" : retry));
        p.close();
        try (TgbProducer q = TgbProducer.open(fs, "p", cfg, one(false))) {
            long next = q.committedCursor() == null ? 0 : SyntheticSource.parseCursor(q.committedCursor());
            if (next == 0) {
                q.append(batch(0), "next=2");
                q.commit();
            }
        }
        assertEquals(1, ManifestLog.open(fs, true).state().committedSteps(), "exactly once");
    }

    // ------------------------------------------------------------------------------------------
    // Hole 5 (C): two producers must not together overshoot max_lag_steps
    static List<Long> lagPerVersion(ObjectStore fs, long head) {
        List<Long> lags = new ArrayList<>();
        long ckpt = 0;
        for (long v = 0; v <= head; v++) {
            VersionFile f = versionAt(fs, v).orElseThrow();
            for (CheckpointRecord c : f.checkpoints()) {
                ckpt = Math.max(ckpt, c.step());
            }
            lags.add(f.firstStep() + f.tgbs().size() - ckpt);
        }
        return lags;
    }

    @Test
    void hole5_flowControlBoundHoldsForTwoProducers_exactSequence() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("c"), true);
        StreamConfig cfg = StreamConfig.of(1).withRetention(2, 4);
        ManifestLog.openOrCreate(fs, cfg);
        ProducerOptions g4 = ProducerOptions.defaults().withGroup(4, 4, false);
        TgbProducer p1 = TgbProducer.open(fs, "p1", cfg, g4);
        TgbProducer p2 = TgbProducer.open(fs, "p2", cfg, g4);
        for (int i = 0; i < 4; i++) {
            p1.append(batch(2L * i), "n" + i);
        }
        for (int i = 0; i < 4; i++) {
            p2.append(batch(100 + 2L * i), "n" + i);
        }
        // whichever group commits first, the other has no room left: wait until it says so
        awaitFlowControlWait(p1, p2);
        ManifestState s = ManifestLog.open(fs).state();
        System.out.println("[5] max_lag_steps=4, no checkpoint: committed steps=" + s.committedSteps() + " lag=" + s.lagSteps());
        assertTrue(s.lagSteps() <= 4, "lag " + s.lagSteps());
        Checkpoints.record(fs, s.committedSteps(), "ck");
        p1.commit();
        p2.commit();
        ManifestState end = ManifestLog.open(fs).state();
        List<Long> lags = lagPerVersion(fs, end.version());
        System.out.println("[5] after a checkpoint: steps=" + end.committedSteps() + " lag per version " + lags);
        assertEquals(8, end.committedSteps());
        assertTrue(lags.stream().allMatch(l -> l <= 4), lags.toString());
        p1.close();
        p2.close();
    }

    /** Forced: both producers prepare their group on the same lag-0 state (inline producers, p2 runs inside p1's version put). */
    @Test
    void hole5b_flowControlBoundHoldsWhenBothPrepareOnTheSameState() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("c2"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withRetention(2, 4);
        ManifestLog.openOrCreate(fs, cfg);
        ProducerOptions g4 = ProducerOptions.defaults().withGroup(4, 4, false).withWriteParallelism(0);
        TgbProducer p1 = TgbProducer.open(hs, "p1", cfg, g4);
        TgbProducer p2 = TgbProducer.open(fs, "p2", cfg, g4);
        AtomicBoolean once = new AtomicBoolean();
        hs.putIfAbsentHook = k -> {
            if (k.matches("_log/\\d{20}\\.json") && once.compareAndSet(false, true)) {
                for (int i = 0; i < 4; i++) {
                    p2.append(batch(100 + 2L * i), "n" + i); // p2's group of 4 commits inline, first
                }
            }
            return false;
        };
        Thread trainer = Thread.ofPlatform().start(() -> {
            awaitFlowControlWait(p1); // p2's group took the room p1 prepared on; p1 must wait, not commit
            Checkpoints.record(fs, 4, "ck4");
        });
        for (int i = 0; i < 4; i++) {
            p1.append(batch(2L * i), "n" + i); // the 4th commits: p1 prepared on lag 0, loses v_k to p2
        }
        trainer.join();
        ManifestState end = ManifestLog.open(fs).state();
        List<Long> lags = lagPerVersion(fs, end.version());
        System.out.println("[5b] steps=" + end.committedSteps() + " lag per version " + lags);
        assertTrue(once.get());
        assertEquals(8, end.committedSteps());
        assertTrue(lags.stream().allMatch(l -> l <= 4), lags.toString());
        p1.close();
        p2.close();
    }

    /**
     * Forced with fail points (issue 22): both producers validate their group of 4 on the same
     * lag-0 state and are paused right before their version put; p1 is let go and wins, then p2:
     * its put loses, it re-validates on p1's version (lag 4, no room) and waits for a checkpoint
     * instead of committing on the stale state. No version ever exceeds max_lag_steps.
     */
    @Test
    void hole5c_flowControlBoundHoldsWhenBothArePausedBeforeTheirPutOnTheSameState() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("c3"), true);
        StreamConfig cfg = StreamConfig.of(1).withRetention(2, 4);
        ManifestLog.openOrCreate(fs, cfg);
        ProducerOptions g4 = ProducerOptions.defaults().withGroup(4, 4, false).withWriteParallelism(0);
        FailPoints fp1 = new FailPoints();
        FailPoints fp2 = new FailPoints();
        TgbProducer p1 = TgbProducer.open(fs, "p1", cfg, g4, StreamEnv.defaults().withFailPoints(fp1));
        TgbProducer p2 = TgbProducer.open(fs, "p2", cfg, g4, StreamEnv.defaults().withFailPoints(fp2));
        long head = ManifestLog.open(fs).state().version(); // the two epoch claims
        FailPoints.Pause pause1 = new FailPoints.Pause();
        FailPoints.Pause pause2 = new FailPoints.Pause();
        fp1.set(FailPoints.BEFORE_VERSION_PUT, pause1, 1); // armed after the claims: the group's first put
        fp2.set(FailPoints.BEFORE_VERSION_PUT, pause2, 1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread a = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 4; i++) {
                    p1.append(batch(2L * i), "n" + i);
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        Thread b = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 4; i++) {
                    p2.append(batch(100 + 2L * i), "n" + i);
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        assertTrue(pause1.awaitReached(30, java.util.concurrent.TimeUnit.SECONDS), "p1 reached its put");
        assertTrue(pause2.awaitReached(30, java.util.concurrent.TimeUnit.SECONDS), "p2 reached its put");
        assertEquals(head, ManifestLog.open(fs).state().version(), "both validated on the same state: nothing was put yet");
        pause1.release();
        a.join();
        assertEquals(4, ManifestLog.open(fs).state().committedSteps(), "p1's group won");
        pause2.release();
        // p2 lost the put, re-validated on p1's version and waits for room (its append does not return)
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (p2.waitingReason() == null || !p2.waitingReason().startsWith("flow control")) {
            assertTrue(b.isAlive() && System.nanoTime() < deadline, "p2 waits for flow control: " + failed.get());
            Thread.onSpinWait();
        }
        assertEquals(4, ManifestLog.open(fs).state().committedSteps(), "p2 committed nothing on the stale state");
        Checkpoints.record(fs, 4, "ck4");
        b.join();
        assertEquals(null, failed.get());
        ManifestState end = ManifestLog.open(fs).state();
        List<Long> lags = lagPerVersion(fs, end.version());
        System.out.println("[5c] steps=" + end.committedSteps() + " lag per version " + lags);
        assertEquals(8, end.committedSteps());
        assertTrue(lags.stream().allMatch(l -> l <= 4), lags.toString());
        p1.close();
        p2.close();
    }

    // ------------------------------------------------------------------------------------------
    // Hole 6 (D1): GC deletes whatever key a manifest entry names
    @Test
    void hole6_gcNeverDeletesTheStreamConfigNamedByAnEntry() {
        FileStore fs = FileStore.open(dir.resolve("d"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        TgbEntry evil = new TgbEntry("x", 1, 1, null, "_lakestream.json", 10, "none", List.of(new ShardEntry(0, 10, 0, 10, 1, 0)));
        try {
            log.commit("x", s -> new Changes(Map.of("x", new ProducerState(1, 1, null)), List.of(evil), List.of()));
            System.out.println("[6] the evil entry was COMMITTED");
        } catch (RuntimeException e) {
            System.out.println("[6] the evil entry was refused: " + e);
        }
        try {
            Checkpoints.record(log, Math.min(1, log.state().committedSteps()), null);
            GcReport rep = new GarbageCollector(log, 3_600_000, 0).run(false);
            System.out.println("[6] gc: " + rep.toJson());
        } catch (RuntimeException e) {
            System.out.println("[6] checkpoint/gc: " + e);
        }
        assertTrue(fs.stat(StreamConfig.KEY).isPresent(), "the stream config survived");
        ManifestLog.open(fs); // and the stream still opens
    }

    /** Hole 6, residual probe: two steps naming the same (valid, own) batch object, the floor between them. */
    @Test
    void hole6b_gcNeverDeletesAnObjectThatAStepAboveTheFloorNeeds() {
        FileStore fs = FileStore.open(dir.resolve("d2"), true);
        StreamConfig cfg = StreamConfig.of(1).withRetention(1, 0);
        TgbProducer x = TgbProducer.open(fs, "x", cfg, one(true)); // v0
        x.append(batch(0), "next=2"); // v1: step 0 -> data/x/00000001-000000000001.tgb
        x.close();
        ManifestLog log = ManifestLog.open(fs);
        TgbEntry e0 = log.entry(0);
        // a corrupt or hostile writer repeats the entry as step 1 (behind the log's back)
        VersionFile dup = new VersionFile(2, "tok2", "evil", 0, 1, new TreeMap<>(), List.of(e0), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(2), Json.write(dup)));
        ManifestLog reopened;
        try {
            reopened = ManifestLog.open(fs);
        } catch (LogFormatException refused) {
            System.out.println("[6b] the duplicate entry is refused: " + refused.getMessage());
            return; // the right outcome
        }
        System.out.println("[6b] log accepted step 1 = " + reopened.entry(1).object() + " (same object as step 0)");
        Checkpoints.record(reopened, 1, "ck1"); // floor 1: step 0 below, step 1 above
        GcReport rep = new GarbageCollector(reopened, 3_600_000, 0).run(false);
        System.out.println("[6b] gc: " + rep.toJson());
        assertTrue(fs.stat(e0.object()).isPresent(), "GC deleted " + e0.object() + ", which step 1 (above the floor) needs");
    }

    // ------------------------------------------------------------------------------------------
    // Hole 7 (D2/D3): stray 20-digit keys above Long.MAX_VALUE
    @Test
    void hole7_strayOversizedNumericKeysBreakNeitherOpenNorGc() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("e"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        commitState(log, 1);
        fs.put("_log/99999999999999999999.json", "{}".getBytes(StandardCharsets.UTF_8));
        assertEquals("c1", ManifestLog.open(fs).state().producer("w").cursor());
        fs.delete("_log/99999999999999999999.json");
        fs.put("data/w/99999999999999999999-000000000001.tgb", new byte[1]);
        java.nio.file.Files.setLastModifiedTime(fs.root().resolve("data/w/99999999999999999999-000000000001.tgb"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        GcReport r = new GarbageCollector(ManifestLog.open(fs), 3_600_000, 0).run(false);
        System.out.println("[7] gc: " + r.toJson());
        assertTrue(fs.stat("data/w/99999999999999999999-000000000001.tgb").isPresent());
        // more of the same family, all at once
        fs.put("_log/99999999999999999999.json", "{}".getBytes(StandardCharsets.UTF_8));
        fs.put("_log/99999999999999999999.snapshot.json", "{}".getBytes(StandardCharsets.UTF_8));
        fs.put("_index/99999999999999999999.json", "{}".getBytes(StandardCharsets.UTF_8));
        fs.put("data/w/00000001-99999999999999999999.tgb", new byte[1]);
        fs.put("data/ab/w/00000001-99999999999999999999.tgb", new byte[1]);
        fs.put("_log/_last_snapshot", "{\"version\":99999999999999999999}".getBytes(StandardCharsets.UTF_8));
        assertEquals("c1", ManifestLog.open(fs).state().producer("w").cursor());
        fs.put("_log/_last_snapshot", ("{\"version\":" + Long.MAX_VALUE + "}").getBytes(StandardCharsets.UTF_8));
        assertEquals("c1", ManifestLog.open(fs).state().producer("w").cursor());
        GcReport r2 = new GarbageCollector(ManifestLog.open(fs), 3_600_000, 0).run(false);
        System.out.println("[7] gc 2 unrecognised: " + r2.unrecognisedKeys());
        commitState(ManifestLog.open(fs), 2);
        assertEquals("c2", ManifestLog.open(fs).state().producer("w").cursor());
    }

    // ------------------------------------------------------------------------------------------
    // Hole 8 (E1/E2): tensor blob validation
    static MemorySegment blob(String header, int dataLen) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) & ~7;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + dataLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        return MemorySegment.ofArray(b.array());
    }

    @Test
    void hole8_tensorBlobRejectsOverlapWithHoleAndOverflowingShape() {
        FormatException e1 = assertThrows(FormatException.class, () -> TensorBlob.parse(blob(
                "{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8), "overlap"));
        System.out.println("[8] overlap: " + e1.getMessage());
        FormatException e2 = assertThrows(FormatException.class, () -> TensorBlob.parse(blob(
                "{\"a\":{\"dtype\":\"I32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0), "overflow"));
        System.out.println("[8] overflow: " + e2.getMessage());
        // cached-header path: parse a good blob first, then the bad one with a Parser
        TensorBlob.Parser p = new TensorBlob.Parser();
        p.parse(blob("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "good");
        assertThrows(FormatException.class, () -> p.parse(blob(
                "{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8), "overlap via parser"));
    }

    @Test
    void control_versionFileWithRequiredFieldsMissingIsRejected() {
        FileStore fs = FileStore.open(dir.resolve("f"), true);
        ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        fs.putIfAbsent(ManifestLog.versionKey(0), "{}".getBytes(StandardCharsets.UTF_8));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        System.out.println("[control] " + e.getMessage());
    }

    // ------------------------------------------------------------------------------------------
    // Hole 9 (reasoned)
    /** 9a: a shard length consistent with a (corrupt) object_size, both far beyond the real object. */
    @Test
    void hole9a_aHugeShardLengthIsATypedErrorNotAnAllocation() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("9a"), true);
        StreamConfig cfg = StreamConfig.of(1);
        TgbProducer x = TgbProducer.open(fs, "x", cfg, one(true)); // v0
        x.append(batch(0), "next=2"); // v1: step 0, a real object
        x.close();
        ManifestLog log = ManifestLog.open(fs);
        TgbEntry real = log.entry(0);
        long huge = 1L << 49; // 512 TiB
        TgbEntry corrupt = new TgbEntry("x", real.epoch(), 2, "next=4",
                io.lakestream.log.StreamLayout.batchObjectKey(cfg, "x", real.epoch(), 2), huge, "none",
                List.of(new ShardEntry(0, huge, 7, huge, 2, 0)));
        fs.putIfAbsent(corrupt.object(), fs.get(real.object())); // the object exists, a few hundred bytes
        VersionFile v2 = new VersionFile(2, "tok2", "x", 0, 1, new TreeMap<>(Map.of("x", new ProducerState(real.epoch(), 2, "next=4"))),
                List.of(corrupt), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(2), Json.write(v2)));
        ManifestLog opened;
        try {
            opened = ManifestLog.open(fs, true);
        } catch (LogFormatException refused) {
            System.out.println("[9a] refused at open: " + refused.getMessage());
            return;
        }
        System.out.println("[9a] the log accepted object_size=" + huge + " and a shard of " + opened.entry(1).shards().get(0).length()
                + " bytes for an object of " + fs.stat(corrupt.object()).orElseThrow().size() + " bytes");
        try (RankReader r = RankReader.open(fs, 0, 1, 1, ReaderOptions.defaults())) {
            Throwable t = null;
            try (StepBatch b = r.next(20_000)) {
                fail("step 1 was delivered: " + b.samples());
            } catch (Throwable e) {
                t = e;
            }
            System.out.println("[9a] reader.next: " + t + (t.getCause() != null ? " caused by " + t.getCause() : ""));
            assertInstanceOf(LakestreamException.class, t, "a typed error");
            assertFalse(t.getCause() instanceof OutOfMemoryError, "it tried to allocate the manifest's length: " + t.getCause());
        }
    }

    /** 9b: bad snapshots when the versions they summarise are already reclaimed. */
    @Test
    void hole9b_badSnapshotsAfterLogGcAreSkippedOrATypedError() {
        FileStore fs = FileStore.open(dir.resolve("9b"), true);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(G);
        ManifestLog w = ManifestLog.openOrCreate(fs, cfg);
        for (int i = 0; i < 30; i++) {
            commitState(w, i);
        }
        StreamEnv ahead = StreamEnv.defaults().withClock(new ManualClock(System.currentTimeMillis() + 3_600_000));
        new GarbageCollector(ManifestLog.open(fs, ahead), 3_600_000).run(false);
        assertTrue(versionAt(fs, 10).isEmpty());
        // snapshot 28: tail length inconsistent; keep 24 good
        fs.put(ManifestLog.snapshotKey(28), Json.write(new Snapshot(cfg.formatVersion(), 28, 5, Map.of(), 0, List.of(), List.of(), 0)));
        assertEquals("c29", ManifestLog.open(fs).state().producer("w").cursor());
        // a newer-format snapshot at 28
        fs.put(ManifestLog.snapshotKey(28), Json.write(new Snapshot(cfg.formatVersion() + 1, 28, 0, Map.of(), 0, List.of(), List.of(), 0)));
        assertEquals("c29", ManifestLog.open(fs).state().producer("w").cursor());
        // both bad: nothing can be loaded; must be a typed error, not a wrong state
        fs.put(ManifestLog.snapshotKey(24), Json.write(new Snapshot(cfg.formatVersion(), 24, 5, Map.of(), 0, List.of(), List.of(), 0)));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        System.out.println("[9b] both snapshots bad: " + e.getMessage());
    }

    /** 9c: a config without index_segment_steps takes the spec's default. */
    @Test
    void hole9c_missingIndexSegmentStepsTakesTheDefault() {
        FileStore fs = FileStore.open(dir.resolve("9c"), true);
        fs.put(StreamConfig.KEY, "{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":1,\"snapshot_interval\":4,\"keep_checkpoints\":2,\"max_lag_steps\":0,\"created_at_millis\":1}".getBytes(StandardCharsets.UTF_8));
        ManifestLog log = ManifestLog.open(fs);
        System.out.println("[9c] index_segment_steps = " + log.config().indexSegmentSteps());
        assertEquals(1024, log.config().indexSegmentSteps());
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(1), one(true))) {
            p.append(batch(0), "next=2");
        }
        assertEquals(1, ManifestLog.open(fs).state().committedSteps());
    }
}
