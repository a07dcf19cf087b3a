package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.format.FormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Reads one rank's shard of every step, in step order, from a start step on.
 *
 * <p>A dispatcher thread follows the log and, as each step is committed, starts its fetch on a
 * small pool of fetch threads: one ranged read of exactly the rank's bytes into a pool slab, a
 * CRC32C check, and an LZ4 decode into the same slab if the shard is compressed. At most
 * {@code prefetch} steps are in flight or waiting; the consumer takes them in order. The
 * reader's whole resumable state is {@link #nextStep()}.
 *
 * <p>Every delivered batch holds one slab of the reader's pool ({@code 2 × prefetch + 2} slabs)
 * until it is closed. A consumer that keeps too many open starves the fetches; {@link #next}
 * then says so ({@link PoolExhaustedException}, naming the held steps) rather than pretending
 * the step is late. On a closed stream (see {@link io.lakestream.log.StreamEnd}) {@link #next}
 * reports the end at once ({@link EndOfStreamException}).
 *
 * <p>With {@link ReaderOptions#stepStride()} {@code n > 1} the reader delivers only the start step
 * and every {@code n}-th step after it; the dispatcher neither fetches nor checksums the others
 * (so {@code n} readers started at {@code first, first + 1, …} together read each step once).
 *
 * <p>The parts: a {@link Prefetcher} (the dispatcher and fetch threads, the steps in flight in
 * order) runs a {@link ShardFetch} per step (slab, read, check, decode); the reader itself is the
 * consumer's side (delivery in order, held batches, pool exhaustion) and the one owner of the
 * feed, the pool and the node-fetch parts, which {@link #close} closes.
 */
public final class RankReader implements AutoCloseable {
    /** Longest single wait on the queue or a fetch, so a deadline on the injected clock is seen. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Where this reader learns committed steps: its process's follower of the log, or the job leader's hand-off. */
    private final StepFeed feed;
    /** How long the next step may wait for a slab while the consumer holds batches, before next() says so. */
    public static final long POOL_HELD_GRACE_MILLIS = 250;
    private final Clock clock;
    private final ObjectStore store;
    private final int rank;
    private final int worldSize;
    private final int streamWorldSize; // differs from worldSize only for an elastic reader
    private final PinnedPool pool;
    private final boolean ownsPool;
    private final int stride;
    /** With node fetch (null without): this rank's share of the node's copy, and the fetcher if this is the node's local rank 0. */
    private final NodeSlices nodeSlices;
    private final NodeFetcher nodeFetcher;
    private final ShardFetch fetch;
    private final Prefetcher prefetcher;
    private volatile boolean closed;
    private long nextStep;
    private Throwable failed;
    private final HeldBatches held;

    private RankReader(StepFeed feed, ObjectStore store, StreamEnv env, int rank, int worldSize,
                       long startStep, ReaderOptions options, PinnedPool pool, boolean ownsPool, NodeFetch nodeFetch,
                       NodeFetcher nodeFetcher) {
        this.feed = feed;
        this.nodeFetcher = nodeFetcher;
        this.nodeSlices = nodeFetch == null ? null
                : new NodeSlices(store.describe(), nodeFetch, nodeFetch.firstRank(rank), feed.streamWorldSize(), env.clock());
        this.clock = env.clock();
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.streamWorldSize = feed.streamWorldSize();
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.nextStep = startStep;
        this.stride = options.stepStride();
        this.fetch = new ShardFetch(store, env, rank, worldSize, streamWorldSize, pool, options.checkedViews(), nodeFetch, nodeSlices,
                nodeFetcher);
        this.prefetcher = new Prefetcher(feed, fetch, store.describe(), rank, startStep, stride, options.prefetch(), env);
        this.held = new HeldBatches(pool, ownsPool, fetch, clock, store.describe(), rank);
    }

    /**
     * Opens a reader for {@code rank} of {@code worldSize} starting at {@code startStep}, with a
     * log follower of its own that it closes (readers of one stream in one process share one
     * follower when opened from one {@link io.lakestream.stream.Lakestream} handle instead).
     *
     * @throws io.lakestream.log.WorldSizeMismatchException if the stream has another world size
     */
    public static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options) {
        return open(store, rank, worldSize, startStep, options, null);
    }

    /** As {@link #open(ObjectStore, int, int, long, ReaderOptions)}, lending from {@code pool} (null: a private pool). */
    public static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                  PinnedPool pool) {
        return open(store, rank, worldSize, startStep, options, pool, StreamEnv.defaults());
    }

    /** As {@link #open(ObjectStore, int, int, long, ReaderOptions, PinnedPool)}, with the given environment. */
    public static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                  PinnedPool pool, StreamEnv env) {
        return open(store, rank, worldSize, startStep, options, pool, env, false);
    }

    /**
     * Opens a reader for {@code rank} of {@code worldSize} ranks on a stream written for any
     * world size W: each step's samples are split into {@code worldSize} contiguous ranges (the
     * first {@code n mod worldSize} ranks get one more) and this rank gets range {@code rank}.
     * With {@code worldSize == W} it is the ordinary reader. The reader's state is still the next
     * step, so a checkpoint taken at W resumes at another world size with the same global batches.
     */
    public static RankReader openElastic(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options) {
        return open(store, rank, worldSize, startStep, options, null, StreamEnv.defaults(), true);
    }

    /** As {@link #openElastic(ObjectStore, int, int, long, ReaderOptions)}, lending from {@code pool} (null: a private pool). */
    public static RankReader openElastic(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                         PinnedPool pool) {
        return open(store, rank, worldSize, startStep, options, pool, StreamEnv.defaults(), true);
    }

    /** As {@link #openElastic(ObjectStore, int, int, long, ReaderOptions, PinnedPool)}, with the given environment. */
    public static RankReader openElastic(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                         PinnedPool pool, StreamEnv env) {
        return open(store, rank, worldSize, startStep, options, pool, env, true);
    }

    /**
     * As {@link #open(ObjectStore, int, int, long, ReaderOptions, PinnedPool, StreamEnv)}, learning the
     * committed steps from {@code feed} (e.g. a {@link HandoffFeed} fed by the job's leader rank,
     * see {@link JobFeed}) instead of following the log; the reader closes the feed. Every shard
     * read is still checked against its entry.
     */
    public static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                  PinnedPool pool, StreamEnv env, StepFeed feed, boolean elastic) {
        try {
            checkArgs(rank, worldSize, startStep); // inside: a refused open still closes the caller's feed
            return start(store, rank, worldSize, startStep, options, pool, env, elastic, feed, null);
        } catch (RuntimeException | Error e) {
            feed.close();
            throw e;
        }
    }

    /**
     * A reader that shares one ranged GET per step with the other ranks of its node
     * ({@link NodeFetch}): local rank 0 fetches the node's byte range into a shared-memory file,
     * every local rank (0 included) reads its shard from it in place, CRC32C-checked. {@code feed}
     * null: this process follows the log (as {@link #open(ObjectStore, int, int, long, ReaderOptions)});
     * otherwise as {@link #open(ObjectStore, int, int, long, ReaderOptions, PinnedPool, StreamEnv, StepFeed, boolean)}.
     * Needs the stream's own world size and stride 1 (the fetcher publishes every step).
     */
    public static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                  PinnedPool pool, StreamEnv env, StepFeed feed, NodeFetch node) {
        checkArgs(rank, worldSize, startStep);
        if (options.stepStride() != 1) {
            if (feed != null) {
                feed.close();
            }
            throw new IllegalArgumentException("node fetch needs every step (stride 1), got stride " + options.stepStride());
        }
        node.firstRank(rank);
        if (feed == null) {
            feed = FollowerFeed.open(store, env, worldSize, startStep, options, false);
        }
        try {
            return start(store, rank, worldSize, startStep, options, pool, env, false, feed, node);
        } catch (RuntimeException | Error e) {
            feed.close();
            throw e;
        }
    }

    /**
     * Opens a reader that follows the log through {@code follower}, its owner's (an
     * {@link io.lakestream.stream.Lakestream} handle's), shared with the owner's other readers: the reader
     * ends its subscription on close, never the follower. {@code node} null: without node fetch;
     * otherwise as the {@link NodeFetch} overload.
     */
    public static RankReader open(SharedFollower follower, int rank, int worldSize, long startStep, ReaderOptions options,
                                  PinnedPool pool, boolean elastic, NodeFetch node) {
        checkArgs(rank, worldSize, startStep);
        StepFeed feed = FollowerFeed.shared(follower, worldSize, startStep, options, elastic && node == null);
        if (node != null) {
            return open(follower.store(), rank, worldSize, startStep, options, pool, follower.env(), feed, node);
        }
        return open(follower.store(), rank, worldSize, startStep, options, pool, follower.env(), feed, elastic);
    }

    static void checkWorldSize(ObjectStore store, int worldSize, boolean elastic, StepFeed feed) {
        if (!elastic && feed.streamWorldSize() != worldSize) {
            throw new WorldSizeMismatchException(store.describe(), feed.streamWorldSize(), worldSize,
                    "open the reader as elastic (RankReader.openElastic, consume --elastic, TorchDataset(elastic=True)) to split "
                            + "each step's samples over " + worldSize + " ranks");
        }
    }

    private static void checkArgs(int rank, int worldSize, long startStep) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside world size " + worldSize);
        }
        if (startStep < 0) {
            throw new IllegalArgumentException("start step must be >= 0, got " + startStep);
        }
    }

    private static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool,
                                   StreamEnv env, boolean elastic) {
        checkArgs(rank, worldSize, startStep);
        FollowerFeed feed = FollowerFeed.open(store, env, worldSize, startStep, options, elastic);
        try {
            return start(store, rank, worldSize, startStep, options, pool, env, elastic, feed, null);
        } catch (RuntimeException | Error e) {
            feed.close();
            throw e;
        }
    }

    private static RankReader start(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options,
                                    PinnedPool pool, StreamEnv env, boolean elastic, StepFeed feed, NodeFetch node) {
        checkWorldSize(store, worldSize, elastic, feed);
        NodeFetcher fetcher = node != null && node.fetcher()
                ? NodeFetcher.open(store, node, node.firstRank(rank), feed.streamWorldSize(), startStep, env) : null;
        try {
            boolean owns = pool == null;
            PinnedPool p = owns ? new PinnedPool(options.poolSlabBytes(), 2 * Math.max(1, options.prefetch()) + 2,
                    Pinners.defaultPinner(), env.threads(), env.clock()) : pool;
            RankReader r = new RankReader(feed, store, env, rank, worldSize, startStep, options, p, owns, node, fetcher);
            r.prefetcher.start();
            return r;
        } catch (RuntimeException | Error e) {
            if (fetcher != null) {
                fetcher.close();
            }
            throw e;
        }
    }

    public int rank() {
        return rank;
    }

    /** The world size this reader reads as (for an elastic reader, possibly not the stream's). */
    public int worldSize() {
        return worldSize;
    }

    /** True when this reader splits steps over another world size than the stream was written for. */
    public boolean elastic() {
        return worldSize != streamWorldSize;
    }

    /**
     * Bytes of batch data this reader read from the store so far (each shard read, a re-read
     * after a checksum mismatch included; log reads not).
     */
    public long bytesRead() {
        return fetch.bytesRead();
    }

    /**
     * Log reads (GETs, and the rare LIST) that this reader's follower of the stream made so far:
     * shared by every reader opened from the same {@link io.lakestream.stream.Lakestream} handle (see
     * {@link SharedFollower}); a reader opened without one has a follower of its own.
     */
    public long logPolls() {
        return feed.polls();
    }

    /** Steps this reader delivered from its node's shared copy (node fetch; 0 without). */
    public long nodeServed() {
        return fetch.nodeServed();
    }

    /**
     * Steps this reader read itself although node fetch is on: no usable copy from the node's
     * fetcher (it died, closed, was late, or its copy did not match; see {@link NodeSlices}).
     */
    public long nodeFallbacks() {
        return fetch.nodeFallbacks();
    }

    /** The node's fetcher, if this reader is its node's local rank 0 with node fetch on; else null. */
    public NodeFetcher nodeFetcher() {
        return nodeFetcher;
    }

    /** This reader's follower of the stream (diagnostics); null for a reader fed by a hand-off. */
    public SharedFollower follower() {
        return feed instanceof FollowerFeed f ? f.subscription().follower() : null;
    }

    /** Where this reader learns committed steps. */
    public StepFeed feed() {
        return feed;
    }

    /** Steps known committed, as of the reader's last look at its feed. */
    public long committedSteps() {
        return feed.committedSteps();
    }

    /** The next step {@link #next} returns: save this with the training checkpoint. */
    public long nextStep() {
        return nextStep;
    }

    /**
     * The stream's log as this reader's follower sees it.
     *
     * @throws IllegalStateException for a reader fed by the job leader's hand-off (it has no log)
     */
    public ManifestLog log() {
        if (feed instanceof FollowerFeed f) {
            return f.subscription().log();
        }
        throw new IllegalStateException("this reader is fed by the job's leader rank and does not follow the log");
    }

    /** The step the stream ended at (its number of steps) if it was closed, as of the reader's last look at the log; else -1. */
    public long endStep() {
        return feed.endStep();
    }

    /** Whether the stream is closed and every one of its steps from the start step on was delivered. */
    public boolean atEnd() {
        long end = feed.endStep();
        return end >= 0 && nextStep >= end;
    }

    /** Steps delivered by {@link #next} whose batches are not closed yet, in order. */
    public List<Long> heldSteps() {
        return held.list();
    }

    /**
     * The next step's batch, waiting up to {@code timeoutMillis} for it to be committed and
     * fetched. The caller closes the batch.
     *
     * @throws ReaderTimeoutException if it did not arrive in time (the reader stays usable)
     * @throws PoolExhaustedException  if it is committed but cannot be fetched because the consumer
     *                                holds the pool's slabs (the reader stays usable); raised as soon
     *                                as that has lasted {@link #POOL_HELD_GRACE_MILLIS}, since only
     *                                the consumer can end it
     * @throws EndOfStreamException   at once, if the stream was closed and every step was delivered
     * @throws FormatException        on a checksum mismatch or malformed data, naming step, rank
     *                                and object
     */
    public StepBatch next(long timeoutMillis) {
        StepBatch b = poll(timeoutMillis);
        if (b != null) {
            return b;
        }
        if (!prefetcher.headDispatched()) {
            throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis);
        }
        // the head is a dispatched step, so it is committed: say why it is not here yet
        PoolExhaustedException starved = held.starving(nextStep, timeoutMillis);
        if (starved != null) {
            throw starved;
        }
        throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis, true);
    }

    /**
     * As {@link #next}, but returns null where {@code next} would throw a timeout: a caller that
     * waits in short slices (the Python binding, so that signals reach Python between them) polls
     * without an exception per slice. Pool exhaustion by the consumer's held batches, the end of
     * a closed stream and errors are thrown as by {@code next}.
     */
    public StepBatch poll(long timeoutMillis) {
        if (closed) {
            throw new IllegalStateException("reader is closed");
        }
        if (failed != null) {
            throw new IllegalStateException("reader stopped at step " + nextStep + " after an error: " + failed.getMessage(), failed);
        }
        long called = System.nanoTime(); // metrics are wall time, whatever clock the env injects
        long deadline = clock.monotonicNanos() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMillis));
        try {
            // Waits in slices so the deadline is measured on the injected clock.
            while (true) {
                long slice = Math.clamp(deadline - clock.monotonicNanos(), 0, WAIT_SLICE_NANOS);
                StepBatch b = prefetcher.poll(slice);
                if (b != null) {
                    nextStep = b.step() + stride;
                    held.delivered(b);
                    ReaderMetrics.delivered(called, b);
                    return b;
                }
                if (prefetcher.headDispatched()) {
                    // the head is kept: the step is still delivered by a later call
                    held.check(nextStep);
                }
                if (clock.monotonicNanos() - deadline >= 0) {
                    return null;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for step " + nextStep, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof EndOfStreamException end) {
                // the head stays: the end is reported again by every later call, never skipped
                throw new EndOfStreamException(store.describe(), end.endStep(), nextStep);
            }
            failed = e.getCause();
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("fetch of step " + nextStep + " failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        if (closed && prefetcher.stopped()) {
            return;
        }
        closed = true;
        prefetcher.close(); // its threads first: a fetch may be using the pool and the node's copy
        feed.close();
        if (nodeFetcher != null) {
            nodeFetcher.close();
        }
        if (nodeSlices != null) {
            nodeSlices.close();
        }
        if (ownsPool) {
            pool.close();
        }
    }
}
