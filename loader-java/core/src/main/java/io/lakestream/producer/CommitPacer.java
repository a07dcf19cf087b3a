package io.lakestream.producer;

/**
 * Decentralized Adaptive Commit: when a producer commits, decided from what it observes alone
 * (no traffic between producers).
 *
 * <p>Inputs, after every commit: the races it lost to versions that committed other producers'
 * batches (checkpoint, GC, control and epoch-claim versions are not contention a group can
 * avoid, so they do not count), and its latency. State: the group target {@code g} (batches per
 * commit), an exponentially weighted conflict rate and commit latency {@code L}.
 * <ul>
 *   <li>A commit that lost a race to batches doubles {@code g} (up to the maximum): fewer, larger
 *       commits from this producer.</li>
 *   <li>A clean commit halves {@code g} (down to the floor) once the conflict rate has decayed
 *       below {@value #CALM}: contention that ended is forgotten in a few commits (from 64 to 1 in
 *       about ten), not one step per commit.</li>
 *   <li>A commit starts as soon as {@code g} batches are ready, or {@code (g − 1) · L} after the
 *       previous commit ended (so N producers at target {@code g} offer the store about N/g
 *       commits per commit latency), or when the oldest waiting batch has waited the linger
 *       bound (by default two commit latencies, at least 5 ms), whichever comes first. With
 *       {@code g = 1} every ready batch is committed at once, and batches that arrive while a
 *       commit runs form the next group by themselves.</li>
 * </ul>
 * A fixed (non-adaptive) pacer commits exactly when {@code g} batches are ready.
 *
 * <p>Time is in the caller's monotonic nanoseconds. Not thread-safe: the committer owns it
 * (getters may be read racily for statistics).
 */
final class CommitPacer {
    /** Conflict rate under which clean commits shrink the group. */
    static final double CALM = 0.25;
    private static final double ALPHA = 0.3;

    private final int floor;
    private final int max;
    private final boolean adaptive;
    private final long lingerNanos; // -1: no bound; AUTO: from the commit latency
    private static final long AUTO = -2;
    private static final long MIN_AUTO_NANOS = ProducerOptions.MIN_AUTO_LINGER_MILLIS * 1_000_000;
    private volatile int group;
    private double conflictRate;
    private double latencyNanos = -1;
    private long lastCommitEnd = Long.MIN_VALUE;

    CommitPacer(int floor, int max, boolean adaptive, long maxLingerMillis) {
        this.floor = Math.max(1, floor);
        this.max = Math.max(this.floor, max);
        this.adaptive = adaptive;
        this.lingerNanos = maxLingerMillis == ProducerOptions.AUTO_LINGER ? AUTO : maxLingerMillis < 0 ? -1 : maxLingerMillis * 1_000_000;
        this.group = this.floor;
    }

    int group() {
        return group;
    }

    double conflictRate() {
        return conflictRate;
    }

    /** The commit latency estimate in nanoseconds (-1 before the first commit). */
    double latencyNanos() {
        return latencyNanos;
    }

    /** Whether to commit now, with {@code ready} batches written and the oldest waiting since {@code oldestNanos}. */
    boolean due(int ready, long oldestNanos, long now) {
        return ready >= group || (ready > 0 && now - wakeAt(oldestNanos) >= 0);
    }

    /**
     * When {@link #due} turns true without more batches arriving ({@link Long#MAX_VALUE}: never,
     * only a full group or a flush commits).
     */
    long wakeAt(long oldestNanos) {
        if (!adaptive) {
            return Long.MAX_VALUE;
        }
        long at = Long.MAX_VALUE;
        long linger = lingerNanos();
        if (linger >= 0) {
            at = oldestNanos + linger;
        }
        if (lastCommitEnd != Long.MIN_VALUE && latencyNanos >= 0) {
            at = Math.min(at, lastCommitEnd + (long) ((group - 1) * latencyNanos));
        }
        return at;
    }

    /** The linger bound in force (-1: none): the configured one, or two commit latencies, at least the floor. */
    long lingerNanos() {
        if (lingerNanos != AUTO) {
            return lingerNanos;
        }
        return latencyNanos < 0 ? MIN_AUTO_NANOS : Math.max(MIN_AUTO_NANOS, (long) (2 * latencyNanos));
    }

    /** A commit ended at {@code endNanos}, having taken {@code nanos} and lost {@code batchConflicts} races to batches. */
    void onCommit(int batchConflicts, long nanos, long endNanos) {
        lastCommitEnd = endNanos;
        latencyNanos = latencyNanos < 0 ? nanos : (1 - ALPHA) * latencyNanos + ALPHA * nanos;
        conflictRate = (1 - ALPHA) * conflictRate + ALPHA * (batchConflicts > 0 ? 1 : 0);
        if (!adaptive) {
            return;
        }
        if (batchConflicts > 0) {
            group = Math.min(max, group * 2);
        } else if (conflictRate < CALM) {
            group = Math.max(floor, group / 2);
        }
    }
}
