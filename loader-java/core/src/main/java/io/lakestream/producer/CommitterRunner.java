package io.lakestream.producer;

import io.lakestream.time.Clock;
import io.lakestream.time.Threads;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link TgbProducer}'s {@link Committer}: threaded, on its own worker, whenever the
 * {@link BatchQueue} changes or the time the committer asked for comes; inline (write parallelism
 * 0), on the appending thread, which also sleeps out flow control's backoff there.
 *
 * <p>It owns the worker and stops it on {@link #close} (the queue is closed first, which lets
 * the committer finish a commit in progress and stop).
 */
final class CommitterRunner {
    /** Longest wait of an idle committer between two looks at the queue (a change wakes it at once). */
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Committer committer;
    private final BatchQueue queue;
    private final Clock clock;
    private final String id;
    /** Null: inline. */
    private final Threads.Worker worker;

    CommitterRunner(Committer committer, BatchQueue queue, Threads threads, Clock clock, String id, boolean threaded) {
        this.committer = committer;
        this.queue = queue;
        this.clock = clock;
        this.id = id;
        this.worker = threaded ? threads.start("lakestream-commit-" + id, this::runWorker) : null;
    }

    /** The worker: runs the committer whenever the queue changes or the time it asked for comes, until closed or failed. */
    private void runWorker() {
        try {
            while (true) {
                long now = clock.monotonicNanos();
                long wake = committer.runOnce(now);
                if (wake == Committer.STOP) {
                    return;
                }
                long wait = wake == Committer.IDLE ? IDLE_WAIT_NANOS : Math.min(IDLE_WAIT_NANOS, wake - now);
                queue.awaitChange(committer.lastSeen(), wait);
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /**
     * Inline, after an append: runs the committer here while it has a due group. A group held by
     * flow control is waited for here, as the worker would; one not due yet (the linger bound) is
     * left to a later call. A failed commit is left in the queue for the caller to throw.
     */
    void commitDue() {
        try {
            while (true) {
                long now = clock.monotonicNanos();
                long wake = committer.runOnce(now);
                if (wake == Committer.STOP || wake == Committer.IDLE) {
                    break;
                }
                if (wake - now > 0) {
                    if (!committer.flowBlocked(now)) {
                        break; // the group is not due yet (the linger bound): a later call commits it
                    }
                    // a due group held by flow control: wait here for a checkpoint, as the committer worker would
                    clock.sleep((wake - now + 999_999) / 1_000_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while producer '" + id + "' waited for a checkpoint", e);
            queue.failReported(ise);
            throw ise;
        }
    }

    /**
     * Inline: runs the committer here until {@code target} is committed, sleeping out flow
     * control's backoff; returns early if it failed or a control change parked it (the queue says which).
     */
    void commitUpTo(long target) throws InterruptedException {
        while (committer.committedSeq() < target) {
            long now = clock.monotonicNanos();
            long wake = committer.runOnce(now);
            if (wake == Committer.STOP || wake == Committer.IDLE) {
                break; // failed, or parked by a control change: checkUsable says which
            }
            clock.sleep(Math.max(0, (wake - now + 999_999) / 1_000_000)); // rounded up: a 0 ms sleep would not move time on
        }
    }

    /** Threaded: waits up to 30 s for the worker to finish (a commit in progress included), then interrupts it. */
    void close() {
        if (worker != null) {
            worker.stop(TimeUnit.SECONDS.toMillis(30), 5_000);
        }
    }
}
