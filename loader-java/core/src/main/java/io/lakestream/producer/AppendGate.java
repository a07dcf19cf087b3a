package io.lakestream.producer;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * Holds a {@link TgbProducer}'s appends until there is room: flow control (the stream may run at
 * most {@code max_lag_steps} ahead of the newest checkpoint) and, with writer threads, a bound on
 * the batches queued. While the lag bound holds, it commits what is queued (so nothing ages into
 * an orphan while we wait) and polls the log with the committer's backoff
 * ({@link Committer#maxFlowBackoffMillis}: set by the consumer's pace, or by how long this wait has
 * lasted while that pace is unknown). This is only the
 * early, cheap check on this producer's view; the bound itself is enforced when a commit is
 * validated against the newest state ({@link Committer}), so several producers together cannot
 * overshoot it.
 *
 * <p>Used by the appending thread only, except {@link #close} and {@link #waitingReason}.
 */
final class AppendGate {
    /** Longest single wait of the appending thread, so a deadline or close is noticed. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** What one look at the room says the appending thread does next. */
    enum Outcome {
        /** There is room: append. */
        ROOM,
        /** None before the deadline: append nothing. */
        TIMED_OUT,
        /** Inline (no writer threads): commit the queued batches on this thread, then look again. */
        COMMIT_INLINE,
        /** Waited a slice: check the instance is still usable, then look again. */
        WAITED
    }

    private final ManifestLog log;
    private final BatchQueue queue;
    private final Committer committer;
    private final CommitPacer pacer;
    private final Clock clock;
    private final boolean adaptive;
    /** Writer threads; 0: inline, and then the queue is not bounded here (append commits due groups itself). */
    private final int parallelism;
    private volatile boolean closed;
    private volatile int queueFullWait; // batches queued while append waits for room in the queue, else 0
    // flow control's poll schedule (0: not waiting; else the current backoff, doubling from 20 ms
    // up to the committer's cap, and when the log is polled next)
    private long flowBackoffMillis;
    private long nextFlowPollNanos;

    AppendGate(ManifestLog log, BatchQueue queue, Committer committer, CommitPacer pacer, Clock clock, boolean adaptive,
               int parallelism) {
        this.log = log;
        this.queue = queue;
        this.committer = committer;
        this.pacer = pacer;
        this.clock = clock;
        this.adaptive = adaptive;
        this.parallelism = parallelism;
    }

    /**
     * Looks once whether there is room, waiting at most one slice (or one flow-control backoff)
     * before {@code deadline} (on the env's monotonic clock; ignored unless {@code bounded}).
     */
    Outcome await(boolean bounded, long deadline) throws InterruptedException {
        long bound = log.config().maxLagSteps();
        long seen = queue.changes();
        int queued = queue.size();
        boolean lagOk = bound <= 0 || log.state().lagSteps() + queued + 1 <= bound;
        if (lagOk && (parallelism == 0 || queued < maxQueued())) {
            queueFullWait = 0;
            flowBackoffMillis = 0;
            return Outcome.ROOM;
        }
        long now = clock.monotonicNanos();
        long left = bounded ? deadline - now : Long.MAX_VALUE;
        if (!lagOk && queued == 0) {
            // Poll the log with the committer's backoff (20 ms doubling up to a cap set by the
            // consumer's pace, or by how long this wait has lasted while that pace is unknown:
            // Committer#maxFlowBackoffMillis). The schedule lives in fields,
            // across bounded calls: slicing the wait must not make the log polled more often.
            if (flowBackoffMillis == 0 || now - nextFlowPollNanos >= 0) {
                ManifestState s = log.refresh();
                if (s.lagSteps() + 1 <= bound) {
                    committer.flowWaitOver();
                    flowBackoffMillis = 0;
                    return Outcome.ROOM;
                }
                committer.flowWait(s);
                long cap = Committer.maxFlowBackoffMillis(s, bound, committer.flowWaitedMillis());
                flowBackoffMillis = flowBackoffMillis == 0 ? Math.min(Committer.MIN_FLOW_BACKOFF_MILLIS, cap)
                        : Math.min(cap, flowBackoffMillis * 2);
                nextFlowPollNanos = now + TimeUnit.MILLISECONDS.toNanos(flowBackoffMillis);
            }
            if (left <= 0) {
                return Outcome.TIMED_OUT; // still waiting; waitingReason says why
            }
            long sleepNanos = Math.min(nextFlowPollNanos - now, left);
            for (long l = (sleepNanos + 999_999) / 1_000_000; l > 0 && !closed; l -= 50) {
                clock.sleep(Math.min(50, l));
            }
            return Outcome.WAITED; // closed meanwhile: the caller says so rather than poll on
        }
        if (parallelism == 0) {
            return Outcome.COMMIT_INLINE; // the queued batches, as flow control lets them through
        }
        if (lagOk) {
            queueFullWait = queued; // the text is built only if someone asks (waitingReason)
        } else {
            queue.flushUpTo(queue.lastSeq()); // commit what is queued while we wait
        }
        if (left <= 0) {
            return Outcome.TIMED_OUT;
        }
        queue.awaitChange(seen, Math.min(WAIT_SLICE_NANOS, left));
        return Outcome.WAITED;
    }

    /**
     * Batches appended and not committed yet beyond which append waits (threaded): two per writer
     * thread (one being written, one written and waiting for its commit). Queued batches are
     * latency (at r batches a second, q queued ones wait q / r) and a longer queue would not write
     * or commit any faster, so the queue does not grow with the group target: under contention the
     * pacer spaces commits, and the linger bound caps how long a group may gather. A fixed group
     * (not adaptive) has no linger bound and commits only when full, so the queue holds a whole
     * group (written batches hold no encode buffer, only their entries): otherwise an append
     * would wait for a group that cannot fill.
     */
    private int maxQueued() {
        return adaptive ? 2 * parallelism : Math.max(2 * parallelism, pacer.group());
    }

    /** Why an append is held right now, or null. */
    String waitingReason() {
        String r = committer.waitingReason();
        int q = queueFullWait;
        if (r == null && q > 0) {
            r = "queue full: " + q + " batches appended and not committed yet (at most " + maxQueued() + ")";
        }
        return r;
    }

    /** The producer closes: a flow-control wait in progress ends within its next 50 ms sleep. */
    void close() {
        closed = true;
    }
}
