package io.lakestream.producer;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.Changes;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.TgbEntry;
import io.lakestream.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * Commits a producer's written batches (after Kafka's {@code Sender}): {@link #runOnce} looks at
 * the queue once, commits one group if the pacer (or a flush) says it is due, and returns when
 * it wants to run again. It never waits: production runs it in a loop on the producer's committer
 * worker, waiting between runs for the queue to change or the returned time to come; an inline
 * producer runs it on the appending thread; a simulation runs that same loop as one of its actors.
 *
 * <p>Flow control is decided on the state a version extends ({@link #prepare}): when it lets no
 * batch through, the committer backs off (20 ms doubling up to {@link #maxFlowBackoffMillis})
 * waiting for a checkpoint.
 */
final class Committer {
    /** {@link #runOnce}'s answer when there is nothing to do until the queue changes. */
    static final long IDLE = Long.MAX_VALUE;
    /** {@link #runOnce}'s answer once the instance is closed or failed: the loop ends. */
    static final long STOP = Long.MIN_VALUE;

    private static final System.Logger LOG = System.getLogger(TgbProducer.class.getName());
    /**
     * A producer held by flow control says so once it has waited this long, and again after
     * doubling gaps ({@link #flowWait}; a trainer that records no checkpoints otherwise leaves it
     * blocked and silent). System property {@code lakestream.flowControlLogMillis}; 30 s by default.
     */
    static final long FLOW_LOG_MILLIS = Long.getLong("lakestream.flowControlLogMillis", 30_000);
    /** The gap between two flow-control warnings doubles after each, up to this many FLOW_LOG_MILLIS. */
    static final long MAX_FLOW_LOG_FACTOR = 32;
    static final long MIN_FLOW_BACKOFF_MILLIS = 20;
    /** The longest look-again interval of a held producer. */
    static final long MAX_FLOW_BACKOFF_MILLIS = 10_000;
    /** The least cap of a held producer's look-again interval while the consumer's pace is unknown (a wait's first 400 ms). */
    static final long UNKNOWN_PACE_BACKOFF_MILLIS = 100;

    /**
     * The longest a producer held by flow control waits between two looks at the log: a quarter
     * of the time the slowest consumer takes to consume {@code max_lag_steps} at the pace its two
     * newest retained checkpoints show, within [20 ms, 10 s]. All that stands between producers
     * and a trainer is max_lag_steps of steps: a trainer at 20 steps/s with a bound of 8 drains
     * them in 400 ms and is looked for every 100 ms, one at 1 step/s with a bound of 50 every 10 s.
     *
     * <p>While that pace is unknown (fewer than two timed checkpoints of the slowest consumer: the
     * first two checkpoint intervals of every run, or a consumer whose records carry no times) it is
     * a quarter of how long this wait has lasted ({@code waitedMillis}), within [100 ms, 10 s]: a
     * consumer that made no room for a while will not make it a moment from now either, and a look
     * a quarter of the wait later delays the producer by at most a quarter of what it waited
     * anyway. A fast consumer frees room within 400 ms, so its producers still look every 100 ms.
     * (A flat 100 ms here made the 64 producers of docs/scale.md §7's paced simulation, held 512
     * steps ahead of a 1 step/s trainer, look 47,197 times in the 129 s before its second
     * checkpoint: 87 % of the 2,000-step run's 54,013 flow-control waits, at 64 ranks.)
     *
     * <p>Each look is one GET of the next version (more when versions arrived): at one step per
     * second, 64 producers held at a fixed 1 s cost $18 per million steps in GETs (docs/scale.md).
     */
    static long maxFlowBackoffMillis(ManifestState s, long maxLagSteps, long waitedMillis) {
        long paced = pacedFlowBackoffMillis(s, maxLagSteps);
        if (paced > 0) {
            return paced;
        }
        return Math.clamp(Math.max(0, waitedMillis) / 4, UNKNOWN_PACE_BACKOFF_MILLIS, MAX_FLOW_BACKOFF_MILLIS);
    }

    /** {@link #maxFlowBackoffMillis} from the slowest consumer's pace, or 0 while that pace is unknown. */
    private static long pacedFlowBackoffMillis(ManifestState s, long maxLagSteps) {
        CheckpointRecord slowest = s.latestCheckpoint();
        if (slowest == null || maxLagSteps <= 0) {
            return 0;
        }
        List<CheckpointRecord> its = s.consumers().get(slowest.consumerName());
        if (its == null || its.size() < 2) {
            return 0;
        }
        CheckpointRecord a = its.get(its.size() - 2);
        CheckpointRecord b = its.get(its.size() - 1);
        long steps = b.step() - a.step();
        long millis = b.timestampMillis() - a.timestampMillis();
        if (steps <= 0 || millis <= 0 || a.timestampMillis() <= 0) {
            return 0; // records without times (older writers) say nothing of the pace
        }
        double drainMillis = (double) maxLagSteps * millis / steps;
        return Math.clamp((long) (drainMillis / 4), MIN_FLOW_BACKOFF_MILLIS, MAX_FLOW_BACKOFF_MILLIS);
    }

    private final ManifestLog log;
    private final String id;
    private final ProducerOptions options;
    private final BatchQueue queue;
    private final CommitPacer pacer;
    private final Clock clock;
    /** The directory sync of a group's objects, overlapped with the version put that names them. */
    private final NameSync nameSync;
    /** The version put's barrier: the names it will publish are durable (one object, made once: no garbage per commit). */
    private final Runnable namesDurable;

    // written by whoever commits (one thread at a time: the committer worker, or the appending
    // thread inline or while rewinding for a control change); read by anyone
    private volatile long epoch;
    private volatile long committedSeq;
    private volatile String committedCursor;
    private volatile ControlRecord control;
    private volatile long commits;
    private volatile long conflicts;
    private volatile long batchConflicts;
    private volatile long flowWaits;
    private volatile String waitingReason;
    /**
     * Whether a flow-control wait is going on, and the monotonic nanos when it began. A flag, not
     * a sentinel value of {@code flowWaitSince}: a monotonic clock's origin is arbitrary
     * ({@link System#nanoTime} may be negative, a manual clock starts at 0), so every long is a
     * time some wait can begin at. Written in that order (the time, then the flag), read in the other.
     */
    private volatile boolean flowWaiting;
    private volatile long flowWaitSince;
    /** Flow-control warnings logged, when the last one was (monotonic nanos), and the least gap before the next. */
    private volatile long flowLogs;
    private volatile long flowLoggedAt;
    private volatile long flowLogGapMillis;
    // the committer's own
    private long flowBackoffMillis = MIN_FLOW_BACKOFF_MILLIS;
    private long blockedUntil = Long.MIN_VALUE;
    private long lastSeen = -1;

    Committer(ManifestLog log, String id, ProducerOptions options, BatchQueue queue, CommitPacer pacer, ProducerState claimed,
              boolean threaded) {
        this.log = log;
        this.id = id;
        this.options = options;
        this.queue = queue;
        this.pacer = pacer;
        this.clock = log.env().clock();
        this.nameSync = new NameSync(log.store(), log.env().threads(), id, threaded);
        this.namesDurable = () -> nameSync.awaitDone(queue);
        this.control = log.state().control();
        claimed(claimed);
    }

    /** A (new) epoch claimed: the committed position is what the log says. */
    void claimed(ProducerState s) {
        this.epoch = s.epoch();
        this.committedSeq = s.seq();
        this.committedCursor = s.cursor();
        this.control = log.state().control();
    }

    /**
     * One look at the queue: commits the written batches at its head when a flush asks for them
     * or the pacer says the group is due (one version; a lost race re-prepares inside the log's
     * commit loop), else does nothing.
     *
     * @param now the clock's monotonic reading
     * @return when to run again (a monotonic reading; {@code now} or earlier: at once), {@link #IDLE}
     *     (when the queue changes) or {@link #STOP} (closed or failed: never)
     */
    long runOnce(long now) {
        BatchQueue.Head h = queue.head();
        lastSeen = h.changes();
        if (h.stop()) {
            return STOP;
        }
        if (h.first() == null || h.parked()) {
            return IDLE;
        }
        if (h.writeFailure() != null) {
            queue.fail(h.writeFailure()); // a batch that cannot be written can never be committed: the instance ends
            return STOP;
        }
        if (h.ready() == 0) {
            return IDLE; // a write landing changes the queue
        }
        if (now < blockedUntil) {
            return blockedUntil; // flow control: waiting for a checkpoint
        }
        if (!h.flush() && !pacer.due(h.ready(), h.first().appendedNanos, now)) {
            return pacer.wakeAt(h.first().appendedNanos);
        }
        try {
            return commitReady(now);
        } catch (ControlChangedException c) {
            queue.controlChanged(c); // the appending thread rewinds
            return IDLE;
        } catch (NameSync.NamesNotDurableException e) {
            queue.fail(e.getCause()); // the store's failure, as when the sync ran in line: the version was not published
            return STOP;
        } catch (RuntimeException | Error e) {
            queue.fail(e);
            return STOP;
        }
    }

    /** True while flow control holds the written batches back (until the backoff's end, when the committer asks again). */
    boolean flowBlocked(long now) {
        return now < blockedUntil;
    }

    /** The change count of the queue as the last {@link #runOnce} saw it: wait for a change after it. */
    long lastSeen() {
        return lastSeen;
    }

    /** Commits the batches written by now (more join if a race is lost and the commit is prepared again). */
    private long commitReady(long now) {
        long t0 = clock.monotonicNanos();
        CommitResult r = log.commit(id, s -> prepare(s, readyEntries()), namesDurable);
        long before = committedSeq;
        boolean empty = afterCommit(r, t0);
        if (committedSeq > before || empty || !queue.headWritten()) {
            flowBackoffMillis = MIN_FLOW_BACKOFF_MILLIS;
            blockedUntil = Long.MIN_VALUE;
            return now; // progress (or nothing left): look again at once
        }
        flowWait(r.state());
        long cap = maxFlowBackoffMillis(r.state(), log.config().maxLagSteps(), flowWaitedMillis());
        flowBackoffMillis = Math.min(flowBackoffMillis, cap);
        long at = clock.monotonicNanos() + flowBackoffMillis * 1_000_000;
        flowBackoffMillis = Math.min(cap, flowBackoffMillis * 2);
        blockedUntil = at;
        return at;
    }

    String flowControlReason(ManifestState s) {
        return "flow control: " + s.lagSteps() + " committed steps beyond the latest checkpoint ("
                + (s.latestCheckpoint() == null ? "none" : "step " + s.latestCheckpoint().step()) + "), bound is "
                + log.config().maxLagSteps();
    }

    // The commit thread's reused lists of readyEntries (a commit allocates none of them; issue 23's garbage)
    private final List<QueuedBatch> readyScratch = new ArrayList<>();
    private final List<QueuedBatch> unsyncedScratch = new ArrayList<>();

    /**
     * The entries of the written batches at the head of the queue (at most a full group), in
     * sequence order; their objects' names are made durable (one directory sync, started here and
     * awaited by the version put before it publishes: {@link NameSync}) before a version may name them.
     */
    private List<TgbEntry> readyEntries() {
        List<QueuedBatch> ready = queue.written(options.maxGroup(), readyScratch);
        List<QueuedBatch> unsynced = unsyncedScratch;
        unsynced.clear();
        for (int i = 0; i < ready.size(); i++) {
            QueuedBatch b = ready.get(i);
            if (!b.nameSynced) {
                unsynced.add(b);
            }
        }
        if (!unsynced.isEmpty()) {
            nameSync.start(unsynced);
        }
        return BatchQueue.entries(ready); // a list of its own: the version keeps it
    }

    /** Learns a commit's outcome: the committed position, the pacer's inputs, and which queued batches are done. */
    private boolean afterCommit(CommitResult r, long startedNanos) {
        log.env().failPoints().hit(FailPoints.AFTER_COMMIT);
        ProducerState mine = r.state().producer(id);
        control = r.state().control();
        committedSeq = mine.seq();
        committedCursor = mine.cursor();
        conflicts += r.conflicts();
        batchConflicts += r.batchConflicts();
        ProducerMetrics.committed(id, r, clock.monotonicNanos() - startedNanos);
        if (r.committed()) {
            commits++;
            long now = clock.monotonicNanos();
            pacer.onCommit(r.batchConflicts(), now - startedNanos, now);
        }
        if (committedSeq >= queue.lastSeq()) {
            // Everything queued is committed: this committer waits for nothing. Said before the
            // queue shows it empty, so an appender that then finds no room and says why is not undone.
            flowWaitOver();
        }
        return queue.committed(committedSeq, r);
    }

    private Changes prepare(ManifestState s, List<TgbEntry> batch) {
        long ep = epoch;
        ProducerState cur = s.producer(id);
        if (cur == null || cur.epoch() != ep) {
            long current = cur == null ? 0 : cur.epoch();
            if (current > ep) {
                throw new ProducerFencedException(log.store().describe(), id, ep, current);
            }
            throw new IllegalStateException("log of " + log.store().describe() + " does not show epoch " + ep
                    + " of producer '" + id + "' (shows " + current + ")");
        }
        List<TgbEntry> fresh = new ArrayList<>(batch.size());
        for (TgbEntry t : batch) {
            if (t.seq() > cur.seq()) {
                fresh.add(t);
            }
        }
        if (fresh.isEmpty()) {
            return Changes.NONE; // every batch already committed: an idempotent retry
        }
        for (TgbEntry t : fresh) {
            if (t.control() != null && t.control() > s.controlVersion()) {
                throw new IllegalArgumentException("producer '" + id + "' stamped a batch with control version " + t.control()
                        + ", but the newest in the log of " + log.store().describe() + " is " + s.controlVersion());
            }
            if (t.control() != null && t.control() != s.controlVersion()) {
                throw new ControlChangedException(log.store().describe(), id, t.control(), s.control());
            }
        }
        if (fresh.get(0).seq() != cur.seq() + 1) {
            throw new SequenceGapException(log.store().describe(), id, cur.seq(), fresh.get(0).seq());
        }
        // Flow control, decided on the state this version extends: with several producers, each
        // one's own view is stale, and only here can the bound hold for all of them together.
        long bound = log.config().maxLagSteps();
        if (bound > 0) {
            long room = bound - s.lagSteps();
            if (room <= 0) {
                return Changes.NONE; // the committer backs off, waiting for a checkpoint
            }
            if (room < fresh.size()) {
                fresh = fresh.subList(0, (int) room);
            }
        }
        TgbEntry last = fresh.get(fresh.size() - 1);
        return Changes.batches(id, new ProducerState(ep, last.seq(), last.cursor()), fresh);
    }

    long epoch() {
        return epoch;
    }

    /** Stops the name-sync worker (after the commit worker stopped: a sync in flight finishes). */
    void close() {
        nameSync.close();
    }

    long committedSeq() {
        return committedSeq;
    }

    String committedCursor() {
        return committedCursor;
    }

    ControlRecord control() {
        return control;
    }

    long commits() {
        return commits;
    }

    long conflicts() {
        return conflicts;
    }

    long batchConflicts() {
        return batchConflicts;
    }

    long flowWaits() {
        return flowWaits;
    }

    /**
     * Flow control holds this producer on state {@code s}: count the wait, say why, and log it
     * once a wait has lasted {@link #FLOW_LOG_MILLIS}; after that warning the next one comes no
     * sooner than 2x FLOW_LOG_MILLIS later, the one after 4x later, and so on up to
     * {@link #MAX_FLOW_LOG_FACTOR}x (30 s, then 60 s, 120 s, ... 16 min by default), across
     * waits: a producer that runs ahead of a slow trainer waits out every checkpoint interval,
     * which is not news each time, while one held by a trainer that records no checkpoints still
     * says so, less and less often.
     */
    void flowWait(ManifestState s) {
        waitingReason = flowControlReason(s);
        flowWaits++;
        ProducerMetrics.flowWait();
        long now = clock.monotonicNanos();
        if (!flowWaiting) {
            flowWaitSince = now;
            flowWaiting = true;
        } else if (now - flowWaitSince >= FLOW_LOG_MILLIS * 1_000_000
                && (flowLogs == 0 || now - flowLoggedAt >= flowLogGapMillis * 1_000_000)) {
            flowLogs++;
            flowLoggedAt = now;
            flowLogGapMillis = flowLogs == 1 ? 2 * FLOW_LOG_MILLIS
                    : Math.min(2 * flowLogGapMillis, MAX_FLOW_LOG_FACTOR * FLOW_LOG_MILLIS);
            LOG.log(System.Logger.Level.WARNING, "producer '" + id + "' on " + log.store().describe() + " has waited "
                    + String.format("%.1f", (now - flowWaitSince) / 1e9) + " s for a checkpoint: flow control lag "
                    + s.lagSteps() + " of " + log.config().maxLagSteps() + " (newest checkpoint: "
                    + (s.latestCheckpoint() == null ? "none" : "step " + s.latestCheckpoint().step())
                    + "); the trainer must record its checkpoints (record_checkpoint / lakestream checkpoint); "
                    + flowWaits + " flow-control waits so far; the next such warning comes "
                    + String.format("%.1f", flowLogGapMillis / 1e3) + " s from now at the earliest");
        }
    }

    /** How long the current flow-control wait has lasted (0 when none). */
    long flowWaitedMillis() {
        return flowWaiting ? (clock.monotonicNanos() - flowWaitSince) / 1_000_000 : 0;
    }

    /** Flow-control warnings logged so far. */
    long flowWarnings() {
        return flowLogs;
    }

    /** The flow-control wait ended. */
    void flowWaitOver() {
        waitingReason = null;
        flowWaiting = false;
    }

    String waitingReason() {
        return waitingReason;
    }

}
