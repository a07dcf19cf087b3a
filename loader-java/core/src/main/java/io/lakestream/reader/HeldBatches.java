package io.lakestream.reader;

import io.lakestream.memory.PinnedPool;
import io.lakestream.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The batches a {@link RankReader}'s consumer holds (delivered, not closed), each on a slab of
 * the reader's pool, and what they cost the next step: when they hold the slabs its fetch waits
 * for, only the consumer can free one, so the reader says so ({@link PoolExhaustedException})
 * instead of timing out. Used by the consumer's thread; closing a batch may come from any.
 */
final class HeldBatches {
    private final HeldSteps steps = new HeldSteps();
    private final PinnedPool pool;
    private final boolean ownsPool;
    private final ShardFetch fetch;
    private final Clock clock;
    private final String stream;
    private final int rank;
    /**
     * Whether the consumer holds every slab while the next step waits for one, and since when
     * (monotonic nanos). A flag, not a sentinel time: a monotonic clock's origin is arbitrary
     * ({@link System#nanoTime} may be negative), so any reading can be the start.
     */
    private boolean full;
    private long fullSince;

    HeldBatches(PinnedPool pool, boolean ownsPool, ShardFetch fetch, Clock clock, String stream, int rank) {
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.fetch = fetch;
        this.clock = clock;
        this.stream = stream;
        this.rank = rank;
    }

    /** {@code b} goes to the consumer: held until it is closed. */
    void delivered(StepBatch b) {
        full = false;
        long step = b.step();
        steps.add(step);
        b.onClose(steps);
    }

    /** The held steps, in order. */
    List<Long> list() {
        return steps.list();
    }

    /** The exhaustion to report if {@code nextStep}'s fetch waits for a slab (null if it does not), after {@code waitedMillis}. */
    PoolExhaustedException starving(long nextStep, long waitedMillis) {
        return fetch.waitingForSlab(nextStep)
                ? new PoolExhaustedException(stream, rank, nextStep, pool.maxSlabs(), steps.list(), waitedMillis) : null;
    }

    /**
     * The next step waits for a slab while the consumer holds batches: the other slabs belong to
     * later steps, fetched ahead, which cannot be delivered (nor freed) before this one, so
     * nothing but the consumer can free one, and waiting out the timeout only hides the cause. A
     * short grace covers a batch being closed on another thread (a pin-memory thread, a
     * finalizer); slabs waiting for device copies free themselves, and a pool shared with other
     * readers may get slabs back from them, so then we wait.
     */
    void check(long nextStep) {
        if (!ownsPool || !fetch.waitingForSlab(nextStep) || steps.count() == 0 || pool.fencedCount() > 0) {
            full = false;
            return;
        }
        long now = clock.monotonicNanos();
        if (!full) {
            full = true;
            fullSince = now;
        } else if (now - fullSince >= TimeUnit.MILLISECONDS.toNanos(RankReader.POOL_HELD_GRACE_MILLIS)) {
            long waited = TimeUnit.NANOSECONDS.toMillis(now - fullSince);
            full = false;
            throw new PoolExhaustedException(stream, rank, nextStep, pool.maxSlabs(), steps.list(), waited);
        }
    }
}
