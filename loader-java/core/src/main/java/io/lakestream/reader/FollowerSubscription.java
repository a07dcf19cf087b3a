package io.lakestream.reader;

import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.TgbEntry;
import java.util.concurrent.TimeUnit;

/**
 * One reader's subscription to a {@link SharedFollower}: waits for steps, looks up their entries,
 * reports its position (so the shared tail can be trimmed below it) and leaves on {@link #close}.
 */
public final class FollowerSubscription implements AutoCloseable {
    private final SharedFollower follower;
    private final long minPollNanos;
    private final long maxPollNanos;
    private volatile long position;
    private boolean closed;

    FollowerSubscription(SharedFollower follower, long position, ReaderOptions options) {
        this.follower = follower;
        this.position = position;
        this.minPollNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(1, options.minPollMillis()));
        this.maxPollNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(options.minPollMillis(), options.maxPollMillis()));
    }

    /** The shared log (its state is the newest the follower saw). */
    public ManifestLog log() {
        return follower.log();
    }

    /** The follower this subscription belongs to. */
    public SharedFollower follower() {
        return follower;
    }

    /** The TGB at {@code step} (committed, not below the reader's position's trimmed tail). */
    public TgbEntry entry(long step) {
        return follower.log().entry(step);
    }

    /** The reader will not ask for steps below {@code step} again. */
    public void position(long step) {
        position = step;
    }

    /**
     * Refuses a start below what retention keeps: the floor, or steps GC already reclaimed.
     *
     * @throws BelowFloorException naming the lowest step still readable
     */
    void checkFloor(long startStep) {
        ManifestState st = log().state();
        if (startStep < st.floorStep() || startStep < st.reclaimedBelowStep()) {
            throw new BelowFloorException(follower.store().describe(), startStep,
                    Math.max(st.floorStep(), st.reclaimedBelowStep()));
        }
    }

    long position() {
        return position;
    }

    long minPollNanos() {
        return minPollNanos;
    }

    long maxPollNanos() {
        return maxPollNanos;
    }

    /**
     * Waits up to {@code maxWaitNanos} (on the env's clock) until step {@code step} is
     * committed or the stream ended, and returns the state; the state as it is after the
     * wait otherwise.
     *
     * @throws RuntimeException a store failure of the follower's poll during the wait (that
     *                          outlived the store's retries)
     * @throws IllegalStateException if the follower was closed
     */
    public ManifestState await(long step, long maxWaitNanos) throws InterruptedException {
        return follower.awaitStep(this, step, maxWaitNanos);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        follower.remove(this);
    }
}
