package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.BatchEncoder;
import io.lakestream.format.Codec;
import io.lakestream.log.Changes;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ConditionalPut;
import io.lakestream.store.FileStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committer's {@code runOnce(now)} on a manual clock, called directly as Kafka's tests call
 * {@code Sender.runOnce}: what it commits, when it asks to run again, how it backs off under flow
 * control and how it ends the instance. No thread, no sleep: every decision is a function of the
 * queue and the clock.
 */
class CommitterTest {
    static final long MS = 1_000_000;
    static final long LINGER_MS = 10;

    @TempDir
    Path dir;

    /** The clock of the log and the committer (a test may replace it before {@link #open}). */
    private ManualClock clock = new ManualClock(1_000_000);
    private FileStore store;
    /** GETs of {@code _log/} objects through the committer's log: its looks at the log. */
    private final AtomicLong logGets = new AtomicLong();
    private ManifestLog log;
    private BatchQueue queue;
    private Committer committer;
    private final SyntheticSource source = new SyntheticSource(10_000, 3, 0, 1, 4);
    private long nextRecord;
    private long nextSeq = 1;
    private Arena arena;
    private int opened;

    private void open(StreamConfig config, int group, boolean adaptive) {
        store = FileStore.open(dir.resolve("s" + (++opened)), true);
        StreamEnv env = StreamEnv.defaults().withClock(clock).withFailPoints(FailPoints.none());
        HookStore counted = new HookStore(store);
        counted.getHook = key -> {
            if (key.startsWith(StreamLayout.LOG_PREFIX)) {
                logGets.incrementAndGet();
            }
        };
        log = ManifestLog.openOrCreate(counted, config, env, true);
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(1, 0, null)), List.of(), List.of()));
        queue = new BatchQueue(env.threads());
        ProducerOptions options = ProducerOptions.defaults().withGroup(group, 8, adaptive).withMaxLinger(LINGER_MS);
        CommitPacer pacer = new CommitPacer(group, 8, adaptive, LINGER_MS);
        committer = new Committer(log, "p", options, queue, pacer, log.state().producer("p"), false);
        arena = Arena.ofConfined();
    }

    @BeforeEach
    void setUp() {
        open(StreamConfig.of(1), 4, true);
    }

    @AfterEach
    void tearDown() {
        arena.close();
        store.close();
    }

    /** Encodes and writes the next batch (epoch 1) and queues it; {@code written} says whether its write has landed. */
    private QueuedBatch enqueue(boolean written) {
        long[] ids = source.take(nextRecord, 2);
        nextRecord = source.after(ids[ids.length - 1]);
        var shards = source.globalBatch(ids, 1);
        BatchEncoder enc = new BatchEncoder(Codec.NONE);
        MemorySegment buf = arena.allocate(enc.maxSize(shards));
        long seq = nextSeq++;
        BatchEncoder.Encoded e = enc.encode(shards, "p", 1, seq, buf);
        String key = StreamLayout.batchObjectKey(log.config(), "p", 1, seq);
        ConditionalPut.put(store, key, e.object(), true);
        QueuedBatch b = new QueuedBatch(new TgbEntry("p", 1, seq, SyntheticSource.cursor(nextRecord), key, e.object().byteSize(),
                e.codec().id(), e.shards(), null), clock.monotonicNanos());
        queue.add(b);
        if (written) {
            queue.written(b, null);
        }
        return b;
    }

    @Test
    void anEmptyQueueIsIdle() {
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()));
        assertEquals(0, log.refresh().committedSteps());
    }

    @Test
    void aLoneBatchWaitsForTheLingerBoundAndNotOneNanosecondMore() {
        long t0 = clock.monotonicNanos();
        enqueue(true);
        long wake = committer.runOnce(t0);
        assertEquals(t0 + LINGER_MS * MS, wake, "a group of 1 out of 4 waits for the linger bound");
        assertEquals(0, log.refresh().committedSteps());
        clock.advance(LINGER_MS - 1);
        assertEquals(wake, committer.runOnce(clock.monotonicNanos()), "not due yet: the same wake-up");
        assertEquals(0, log.refresh().committedSteps());
        clock.advance(1);
        long after = committer.runOnce(clock.monotonicNanos());
        assertEquals(clock.monotonicNanos(), after, "a commit made progress: look again at once");
        assertEquals(1, log.refresh().committedSteps());
        assertEquals(1, committer.committedSeq());
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()));
        assertEquals(1, committer.commits());
    }

    @Test
    void aFixedGroupWaitsForItsLastBatchHoweverLongItTakes() {
        tearDown();
        open(StreamConfig.of(1), 3, false);
        enqueue(true);
        enqueue(true);
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()), "two of three: nothing due, no linger bound");
        clock.advance(3_600_000);
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()), "an hour later still nothing due");
        assertEquals(0, log.refresh().committedSteps());
        enqueue(true);
        committer.runOnce(clock.monotonicNanos());
        assertEquals(3, log.refresh().committedSteps(), "the third fills the group");
    }

    @Test
    void aFullGroupIsCommittedAtOnceInOneVersion() {
        for (int i = 0; i < 4; i++) {
            enqueue(true);
        }
        long v = log.refresh().version();
        committer.runOnce(clock.monotonicNanos());
        assertEquals(4, log.refresh().committedSteps());
        assertEquals(v + 1, log.state().version(), "one version for the whole group");
    }

    @Test
    void aBatchStillBeingWrittenIsNeverCommittedAndHoldsBackTheOnesBehindIt() {
        QueuedBatch first = enqueue(false);
        for (int i = 0; i < 3; i++) {
            enqueue(true);
        }
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()), "the head is not written: wait for its write");
        clock.advance(10 * LINGER_MS);
        assertEquals(Committer.IDLE, committer.runOnce(clock.monotonicNanos()));
        assertEquals(0, log.refresh().committedSteps(), "a version never names an object that is not durable");
        queue.written(first, null);
        committer.runOnce(clock.monotonicNanos());
        assertEquals(4, log.refresh().committedSteps());
    }

    @Test
    void aFlushCommitsWithoutWaitingForTheGroup() {
        enqueue(true);
        queue.flushUpTo(1);
        committer.runOnce(clock.monotonicNanos());
        assertEquals(1, log.refresh().committedSteps());
    }

    @Test
    void flowControlBacksOffOnTheClockUntilACheckpointMakesRoom() {
        tearDown();
        dir = dir.resolve("flow");
        open(StreamConfig.of(1).withRetention(2, 1), 1, false);
        enqueue(true);
        enqueue(true);
        long now = clock.monotonicNanos();
        committer.runOnce(now);
        assertEquals(1, log.refresh().committedSteps(), "max_lag_steps 1: one step, then no room");
        long wake = committer.runOnce(clock.monotonicNanos());
        assertEquals(clock.monotonicNanos() + 20 * MS, wake, "no room: back off 20 ms");
        assertNotNull(committer.waitingReason());
        assertTrue(committer.waitingReason().startsWith("flow control: 1 committed steps"), committer.waitingReason());
        long versions = log.refresh().version();
        clock.advance(19);
        assertEquals(wake, committer.runOnce(clock.monotonicNanos()), "inside the backoff: no store operation, same wake-up");
        assertEquals(versions, log.refresh().version());
        clock.advance(1);
        long wake2 = committer.runOnce(clock.monotonicNanos());
        assertEquals(clock.monotonicNanos() + 40 * MS, wake2, "still no room: the backoff doubles");
        for (long expect : new long[] {80, 100, 100}) {
            clock.advance((wake2 - clock.monotonicNanos()) / MS);
            wake2 = committer.runOnce(clock.monotonicNanos());
            assertEquals(clock.monotonicNanos() + expect * MS, wake2,
                    "a held producer looks again at most every 100 ms: it resumes that soon after a checkpoint");
        }
        Checkpoints.record(store, 1, "ckpt-1", StreamEnv.defaults().withClock(clock));
        clock.advance(100);
        committer.runOnce(clock.monotonicNanos());
        assertEquals(2, log.refresh().committedSteps(), "the checkpoint made room for the second batch");
        assertNull(committer.waitingReason());
        assertEquals(5, committer.flowWaits());
    }

    /**
     * Runs the committer as its worker loop does, moving the manual clock to each wake-up it asks
     * for, until {@code untilNanos} or until {@code done} holds; returns the last wake-up asked for.
     */
    private long drive(long untilNanos, java.util.function.BooleanSupplier done) {
        long wake = clock.monotonicNanos();
        while (!done.getAsBoolean() && clock.monotonicNanos() < untilNanos) {
            long now = clock.monotonicNanos();
            wake = committer.runOnce(now);
            if (wake == Committer.IDLE || wake == Committer.STOP) {
                return wake;
            }
            if (wake > now) {
                clock.advance((Math.min(wake, untilNanos) - now + MS - 1) / MS);
            }
        }
        return wake;
    }

    /**
     * The consumer's pace is unknown until the log holds two of its checkpoints: the first two
     * checkpoint intervals of every run. A producer held then used to look every 100 ms (640 looks
     * while a trainer at one step per second reaches its first checkpoint at step 64: 87 % of the
     * flow-control waits of docs/scale.md's paced simulation); it now looks a quarter of its wait
     * so far apart, and still sees the checkpoint within a quarter of the interval.
     */
    @Test
    void aProducerHeldWhileTheConsumersPaceIsUnknownLooksLessOftenTheLongerItWaits() {
        tearDown();
        dir = dir.resolve("unknown");
        open(StreamConfig.of(1).withRetention(2, 2), 1, false);
        for (int i = 0; i < 3; i++) {
            enqueue(true);
        }
        committer.runOnce(clock.monotonicNanos());
        assertEquals(2, log.refresh().committedSteps(), "max_lag_steps 2: two steps, then no room");
        long t0 = clock.monotonicNanos();
        logGets.set(0);
        long checkpointAt = t0 + 64_000 * MS; // a trainer at 1 step/s checkpointing every 64 steps
        drive(checkpointAt, () -> false);
        long looks = committer.flowWaits();
        // 20, 40, 80 ms, then 100 ms up to 400 ms of waiting, then a quarter of the wait so far, up to 10 s: 33 looks
        assertTrue(looks <= 34, looks + " looks at the log in 64 s of waiting (a flat 100 ms: 640)");
        assertTrue(logGets.get() <= 2 * looks, logGets.get() + " GETs of _log/ for " + looks + " looks");
        assertEquals(2, committer.committedSeq());

        Checkpoints.record(store, 1, "ckpt-1", StreamEnv.defaults().withClock(clock));
        drive(checkpointAt + 64_000 * MS, () -> committer.committedSeq() == 3);
        assertEquals(3, log.refresh().committedSteps(), "the checkpoint made room for the third batch");
        long noticedAfter = (clock.monotonicNanos() - checkpointAt) / MS;
        assertTrue(noticedAfter <= 16_000, "the checkpoint was seen " + noticedAfter + " ms after it was recorded: more than a"
                + " quarter of the 64 s checkpoint interval");
        assertNull(committer.waitingReason());
    }

    /**
     * A producer held for each of 30 checkpoint intervals of 64 s (paced by a trainer far behind)
     * says so once and then at doubling gaps (30 s, 60 s, 120 s, ...), not at every wait past 30 s
     * (which was twice per interval).
     */
    @Test
    void flowControlWarningsSayItOnceAndThenBackOff() {
        tearDown();
        dir = dir.resolve("warn");
        open(StreamConfig.of(1).withRetention(2, 1), 1, false);
        List<String> warnings = new java.util.ArrayList<>();
        Handler h = flowWarningsInto(warnings);
        try {
            enqueue(true);
            committer.runOnce(clock.monotonicNanos());
            assertEquals(1, log.refresh().committedSteps());
            StreamEnv env = StreamEnv.defaults().withClock(clock);
            long start = clock.monotonicNanos();
            for (int interval = 1; interval <= 30; interval++) {
                enqueue(true);
                long seq = committer.committedSeq();
                drive(start + interval * 64_000 * MS, () -> false);
                assertEquals(seq, committer.committedSeq(), "held until the checkpoint");
                Checkpoints.record(store, interval, "ckpt-" + interval, env);
                drive(Long.MAX_VALUE, () -> committer.committedSeq() == seq + 1);
            }
            assertEquals(31, log.refresh().committedSteps());
            // the gap doubles: at about 30 s, 94 s, 222 s, 478 s, 958 s and 1,918 s of the 1,920 s
            assertTrue(warnings.size() >= 1 && warnings.size() <= 6, warnings.size() + " warnings, the first: "
                    + (warnings.isEmpty() ? "none" : warnings.get(0)));
            assertEquals(warnings.size(), committer.flowWarnings());
            assertTrue(warnings.get(0).contains("the next such warning comes 60.0 s from now at the earliest"), warnings.get(0));
        } finally {
            Logger.getLogger(TgbProducer.class.getName()).removeHandler(h);
        }
    }

    /** Collects the producers' flow-control warnings into {@code warnings} until the handler is removed. */
    private static Handler flowWarningsInto(List<String> warnings) {
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel() == Level.WARNING && r.getMessage().contains("for a checkpoint")) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger(TgbProducer.class.getName()).addHandler(h);
        return h;
    }

    /**
     * The warning cadence to the nanosecond, wherever the monotonic clock stands: the first
     * warning exactly when a wait reaches FLOW_LOG_MILLIS, the next ones exactly 2x, 4x, ... 32x
     * FLOW_LOG_MILLIS after the one before (also across waits), never a moment sooner. The clock
     * starting at -1 or far below 0, as {@link System#nanoTime} may: a wait that began at such a
     * reading was once taken for no wait at all (its start was kept as -1 = "not waiting"), so the
     * wait restarted at every look, its backoff never grew past 100 ms, and nothing was logged.
     */
    @Test
    void flowControlWarningsComeExactlyOnTheirCadenceWhereverTheMonotonicClockStarts() {
        long f = Committer.FLOW_LOG_MILLIS;
        for (long origin : new long[] {-1, -4_000_000_000_000_000L, 0, 123_456_789}) {
            tearDown();
            clock = new ManualClock(1_000_000, origin);
            open(StreamConfig.of(1).withRetention(2, 1), 1, false);
            List<String> warnings = new java.util.ArrayList<>();
            Handler h = flowWarningsInto(warnings);
            try {
                var s = log.state();
                committer.flowWait(s); // the wait begins
                assertEquals(0, committer.flowWaitedMillis(), "origin " + origin);
                clock.advance(f - 1);
                committer.flowWait(s);
                assertEquals(f - 1, committer.flowWaitedMillis(), "origin " + origin + ": the wait is timed from its start");
                assertEquals(0, committer.flowWarnings(), "origin " + origin + ": one millisecond short of the first warning");
                assertEquals(Math.clamp((f - 1) / 4, Committer.UNKNOWN_PACE_BACKOFF_MILLIS, Committer.MAX_FLOW_BACKOFF_MILLIS),
                        Committer.maxFlowBackoffMillis(s, 1, committer.flowWaitedMillis()), "the backoff grows with the wait");
                clock.advance(1);
                committer.flowWait(s);
                assertEquals(1, committer.flowWarnings(), "origin " + origin + ": the wait reached " + f + " ms");
                assertEquals(1, warnings.size());
                assertTrue(warnings.get(0).contains("has waited " + String.format("%.1f", f / 1e3) + " s for a checkpoint"),
                        warnings.get(0));
                long gap = 2 * f;
                for (int n = 2; n <= 7; n++) {
                    assertTrue(warnings.get(n - 2).contains("the next such warning comes " + String.format("%.1f", gap / 1e3)
                            + " s from now at the earliest"), warnings.get(n - 2));
                    if (n == 6) {
                        // a new wait: the cadence goes on across waits, the new one's age does not restart it
                        committer.flowWaitOver();
                        assertEquals(0, committer.flowWaitedMillis());
                        committer.flowWait(s);
                        clock.advance(f);
                        committer.flowWait(s);
                        assertEquals(n - 1, committer.flowWarnings(), "a new wait of " + f + " ms, within the gap: no warning");
                        clock.advance(gap - f - 1);
                    } else {
                        clock.advance(gap - 1);
                    }
                    committer.flowWait(s);
                    assertEquals(n - 1, committer.flowWarnings(), "origin " + origin + ": one millisecond short of warning " + n);
                    clock.advance(1);
                    committer.flowWait(s);
                    assertEquals(n, committer.flowWarnings(), "origin " + origin + ": warning " + n + " after a gap of " + gap + " ms");
                    gap = Math.min(2 * gap, Committer.MAX_FLOW_LOG_FACTOR * f);
                }
                assertEquals(7, warnings.size());
                assertEquals(3 + 6 * 2 + 2, committer.flowWaits(), "every look counted");
            } finally {
                Logger.getLogger(TgbProducer.class.getName()).removeHandler(h);
            }
        }
    }

    @Test
    void aHeldProducerLooksAgainAtAPaceSetByTheConsumersOwn() {
        FileStore fs = FileStore.open(dir.resolve("pace"), true);
        Streams.produce(fs, "p", 1, 2, new SyntheticSource(400, 1, 0, 1, 4), -1, Streams.opts()).close(); // 200 steps
        ManualClock at = new ManualClock(1_000_000);
        StreamEnv env = StreamEnv.defaults().withClock(at);
        assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 0), "no checkpoint: pace unknown");
        assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 400), "unknown, a wait of 400 ms: 100 ms");
        assertEquals(2_500, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 10_000),
                "unknown: a quarter of a 10 s wait");
        assertEquals(10_000, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 3_600_000), "unknown: 10 s at most");
        Checkpoints.record(fs, 4, null, env);
        assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 0), "one checkpoint: pace unknown");
        assertEquals(1_000, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 4_000), "one checkpoint: pace unknown");
        at.advance(200);
        Checkpoints.record(fs, 8, null, env); // 20 steps/s: 8 steps drain in 400 ms
        assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 0));
        assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 60_000), "a known pace: the wait does not count");
        at.advance(40_000);
        Checkpoints.record(fs, 48, null, env); // 1 step/s: 50 steps drain in 50 s, looked for every 10 s at most
        assertEquals(10_000, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 50, 0));
        assertEquals(2_000, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 0), "8 steps: 8 s, a quarter of it");
        at.advance(10);
        Checkpoints.record(fs, 148, null, env); // 10,000 steps/s: at least 20 ms all the same
        assertEquals(20, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 8, 0));
        fs.close();
    }

    /**
     * Two checkpoints in the same millisecond, or the older one without a time (an older writer),
     * say nothing of the consumer's pace: the producer looks again as when the pace is unknown.
     */
    @Test
    void checkpointsWithoutAMeasurableIntervalLeaveThePaceUnknown() {
        for (long firstAt : new long[] {1_000_000, 0}) {
            FileStore fs = FileStore.open(dir.resolve("pace" + firstAt), true);
            Streams.produce(fs, "p", 1, 2, new SyntheticSource(40, 1, 0, 1, 4), -1, Streams.opts()).close(); // 20 steps
            ManualClock at = new ManualClock(firstAt);
            StreamEnv env = StreamEnv.defaults().withClock(at);
            Checkpoints.record(fs, 4, null, env);
            if (firstAt == 0) {
                at.advance(200); // 4 steps in 200 ms, but the first record has no time
            }
            Checkpoints.record(fs, 8, null, env);
            assertEquals(100, Committer.maxFlowBackoffMillis(ManifestLog.open(fs).state(), 80, 0), "first record at " + firstAt);
            fs.close();
        }
    }

    // ---------------------------------------------------------------- the inline runner

    /**
     * The inline runner's clock: the test's manual clock, which its sleeps move on (recorded); a
     * runner that loops without moving time on fails here instead of spinning for ever.
     */
    private final class RunnerClock implements io.lakestream.time.Clock {
        final List<Long> sleeps = new java.util.ArrayList<>();
        /** Runs at each sleep, with how many there were so far. */
        java.util.function.LongConsumer onSleep = n -> {};
        private long readings;

        @Override
        public long wallMillis() {
            return clock.wallMillis();
        }

        @Override
        public long monotonicNanos() {
            if (++readings > 10_000) {
                throw new AssertionError("the runner looked at the clock 10,000 times; its first sleeps: "
                        + sleeps.subList(0, Math.min(20, sleeps.size())));
            }
            return clock.monotonicNanos();
        }

        @Override
        public void sleep(long millis) {
            sleeps.add(millis);
            onSleep.accept(sleeps.size());
            clock.advance(millis);
        }
    }

    /**
     * After an append, the inline runner commits every group that is due, one version each, not
     * only the first: 16 written batches are two full groups of 8 (the most one version takes);
     * the 2 after them are not a group yet and wait for a later call. Nothing is slept.
     */
    @Test
    void commitDueCommitsEveryDueGroupAndLeavesTheOneNotDueYet() {
        tearDown();
        open(StreamConfig.of(1), 8, false);
        clock.advance(1_000); // the clock away from 0: a sum of two readings is not their difference
        for (int i = 0; i < 18; i++) {
            enqueue(true);
        }
        long v = log.refresh().version();
        RunnerClock rc = new RunnerClock();
        new CommitterRunner(committer, queue, log.env().threads(), rc, "p", false).commitDue();
        assertEquals(16, log.refresh().committedSteps(), "both full groups");
        assertEquals(v + 2, log.state().version(), "one version per group");
        assertEquals(16, committer.committedSeq());
        assertEquals(2, queue.size(), "the last two are not a group: left queued");
        assertEquals(List.of(), rc.sleeps);
    }

    /**
     * {@code commit()} inline: the runner commits group after group up to the target without
     * sleeping while they make progress, then sleeps out flow control's backoff on the clock,
     * each sleep the backoff to the millisecond (20, 40, 80, then 100 ms while the consumer's
     * pace is unknown), until a checkpoint makes room.
     */
    @Test
    void commitUpToCommitsGroupAfterGroupAndSleepsOutExactlyTheBackoff() throws Exception {
        tearDown();
        open(StreamConfig.of(1).withRetention(2, 17), 8, false);
        clock.advance(1_000);
        for (int i = 0; i < 18; i++) {
            enqueue(true);
        }
        queue.flushUpTo(18);
        RunnerClock rc = new RunnerClock();
        StreamEnv env = StreamEnv.defaults().withClock(clock);
        rc.onSleep = n -> {
            if (n == 8) {
                Checkpoints.record(store, 1, "ckpt-1", env); // room for the 18th batch
            }
        };
        long v = log.refresh().version();
        new CommitterRunner(committer, queue, log.env().threads(), rc, "p", false).commitUpTo(18);
        assertEquals(18, committer.committedSeq());
        assertEquals(18, log.refresh().committedSteps());
        assertEquals(v + 5, log.state().version(), "8, 8, 1 (max_lag_steps 17), the checkpoint, then the last one");
        assertEquals(List.of(0L, 0L, 0L, 20L, 40L, 80L, 100L, 100L, 0L), rc.sleeps);
    }

    /**
     * Closing a threaded runner whose worker is still running after the 30 s join (here: a worker
     * the test's threads report as not joined at once) interrupts it and waits for it to end.
     */
    @Test
    void closeInterruptsAWorkerStillRunningAfterTheJoinAndWaitsForIt() throws Exception {
        List<Long> joins = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean interrupted = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Boolean> ended = new java.util.concurrent.atomic.AtomicReference<>();
        io.lakestream.time.Threads threads = new io.lakestream.testkit.ForwardingThreads() {
            @Override
            public Worker start(String name, Runnable body) {
                Worker real = super.start(name, body);
                return new Worker() {
                    @Override
                    public boolean join(long millis) throws InterruptedException {
                        joins.add(millis);
                        if (joins.size() == 1) {
                            return false; // as after 30 s: the queue is not closed, so the worker waits on
                        }
                        boolean done = real.join(millis);
                        ended.set(done);
                        return done;
                    }

                    @Override
                    public void interrupt() {
                        interrupted.set(true);
                        real.interrupt();
                    }
                };
            }
        };
        CommitterRunner runner = new CommitterRunner(committer, queue, threads, clock, "p", true);
        runner.close();
        assertEquals(30_000L, joins.get(0), "close waits 30 s for the worker first");
        assertTrue(interrupted.get(), "a worker still running then is interrupted");
        assertEquals(List.of(30_000L, 5_000L), joins);
        assertEquals(Boolean.TRUE, ended.get(), "the interrupted worker ended");
    }

    @Test
    void aWriteFailureEndsTheInstanceWithThatFailure() {
        QueuedBatch b = enqueue(false);
        RuntimeException boom = new RuntimeException("disk full");
        queue.written(b, boom);
        assertEquals(Committer.STOP, committer.runOnce(clock.monotonicNanos()));
        BatchQueue.Problem p = queue.problem();
        assertSame(boom, p.failure());
        assertTrue(p.firstReport());
        assertEquals(0, log.refresh().committedSteps());
    }

    @Test
    void aNewerEpochFencesTheCommitterAndNothingIsCommitted() {
        enqueue(true);
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(2, 0, null)), List.of(), List.of())); // a newer instance claims epoch 2
        queue.flushUpTo(1);
        assertEquals(Committer.STOP, committer.runOnce(clock.monotonicNanos()));
        assertInstanceOf(ProducerFencedException.class, queue.problem().failure());
        assertEquals(0, log.refresh().committedSteps());
        assertEquals(Committer.STOP, committer.runOnce(clock.monotonicNanos()), "a failed instance never commits again");
    }
}
