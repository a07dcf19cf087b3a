package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import io.lakestream.time.Clock;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

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
 */
public final class RankReader implements AutoCloseable {
    /** Longest single wait on the queue or a fetch, so a deadline on the injected clock is seen. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Longest single wait of the dispatcher for the log (each new wait of an idle follower makes it look at once). */
    private static final long DISPATCH_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Where this reader learns committed steps: its process's follower of the log, or the job leader's hand-off. */
    private final StepFeed feed;
    /** How long the next step may wait for a slab while the consumer holds batches, before next() says so. */
    public static final long POOL_HELD_GRACE_MILLIS = 250;
    private final StreamEnv env;
    private final Clock clock;
    private final TensorBlob.Parser blobs = new TensorBlob.Parser();
    private final ObjectStore store;
    private final int rank;
    private final int worldSize;
    private final int streamWorldSize; // differs from worldSize only for an elastic reader
    private final ReaderOptions options;
    private final PinnedPool pool;
    private final boolean ownsPool;
    private final ExecutorService fetchers;
    private final Thread dispatcher;
    private final BlockingQueue<Future<StepBatch>> ready;
    private final int stride;
    private final LongAdder bytesRead = new LongAdder();
    /** With node fetch (null without): this rank's side of it, and the fetcher if this is the node's local rank 0. */
    private final NodeFetch nodeFetch;
    private final NodeSlices nodeSlices;
    private final NodeFetcher nodeFetcher;
    private final LongAdder nodeServed = new LongAdder();
    private final LongAdder nodeFallbacks = new LongAdder();
    private volatile boolean closed;
    private long nextStep;
    private Future<StepBatch> head; // consumer-owned: taken from ready, not yet delivered
    private Throwable failed;
    /** Steps whose fetch is waiting for a pool slab. */
    private final Set<Long> waitingForSlab = ConcurrentHashMap.newKeySet();
    /** Steps delivered to the consumer and not closed yet (each holds a slab). */
    private final HeldSteps held = new HeldSteps();
    /** Since when (monotonic nanos) the consumer has held every slab while the next step waits for one; -1 if not. */
    private long heldFullSince = -1;

    private RankReader(StepFeed feed, ObjectStore store, StreamEnv env, int rank, int worldSize,
                       long startStep, ReaderOptions options, PinnedPool pool, boolean ownsPool, NodeFetch nodeFetch,
                       NodeFetcher nodeFetcher) {
        this.feed = feed;
        this.nodeFetch = nodeFetch;
        this.nodeFetcher = nodeFetcher;
        this.nodeSlices = nodeFetch == null ? null
                : new NodeSlices(store.describe(), nodeFetch, nodeFetch.firstRank(rank), feed.streamWorldSize(), env.clock());
        this.env = env;
        this.clock = env.clock();
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.streamWorldSize = feed.streamWorldSize();
        this.options = options;
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.nextStep = startStep;
        this.stride = options.stepStride();
        int depth = Math.max(1, options.prefetch());
        this.ready = new ArrayBlockingQueue<>(depth);
        this.fetchers = Executors.newFixedThreadPool(depth, r -> {
            Thread t = new Thread(r, "lakestream-fetch-r" + rank);
            t.setDaemon(true);
            return t;
        });
        this.dispatcher = new Thread(() -> dispatch(startStep), "lakestream-dispatch-r" + rank);
        this.dispatcher.setDaemon(true);
    }

    /**
     * Opens a reader for {@code rank} of {@code worldSize} starting at {@code startStep}.
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
        checkArgs(rank, worldSize, startStep);
        try {
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
            SharedFollower.Subscription sub = SharedFollower.subscribe(store, env, startStep, options);
            try {
                ManifestState st = sub.log().state();
                FollowerFeed f = new FollowerFeed(sub);
                checkWorldSize(store, worldSize, false, f);
                if (startStep < st.floorStep() || startStep < st.reclaimedBelowStep()) {
                    throw new BelowFloorException(store.describe(), startStep, Math.max(st.floorStep(), st.reclaimedBelowStep()));
                }
                feed = f;
            } catch (RuntimeException | Error e) {
                sub.close();
                throw e;
            }
        }
        try {
            return start(store, rank, worldSize, startStep, options, pool, env, false, feed, node);
        } catch (RuntimeException | Error e) {
            feed.close();
            throw e;
        }
    }

    private static void checkWorldSize(ObjectStore store, int worldSize, boolean elastic, StepFeed feed) {
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
        SharedFollower.Subscription sub = SharedFollower.subscribe(store, env, startStep, options);
        try {
            FollowerFeed feed = new FollowerFeed(sub);
            checkWorldSize(store, worldSize, elastic, feed); // before the floor, as always
            ManifestState st = sub.log().state();
            if (startStep < st.floorStep() || startStep < st.reclaimedBelowStep()) {
                throw new BelowFloorException(store.describe(), startStep, Math.max(st.floorStep(), st.reclaimedBelowStep()));
            }
            return start(store, rank, worldSize, startStep, options, pool, env, elastic, feed, null);
        } catch (RuntimeException | Error e) {
            sub.close();
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
                    Pinners.defaultPinner()) : pool;
            RankReader r = new RankReader(feed, store, env, rank, worldSize, startStep, options, p, owns, node, fetcher);
            r.dispatcher.start();
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
        return bytesRead.sum();
    }

    /**
     * Log reads (GETs, and the rare LIST) that this process's follower of the stream made so far:
     * shared by every reader of the stream in the process (see {@link SharedFollower}).
     */
    public long logPolls() {
        return feed.polls();
    }

    /** Steps this reader delivered from its node's shared copy (node fetch; 0 without). */
    public long nodeServed() {
        return nodeServed.sum();
    }

    /**
     * Steps this reader read itself although node fetch is on: no usable copy from the node's
     * fetcher (it died, closed, was late, or its copy did not match; see {@link NodeSlices}).
     */
    public long nodeFallbacks() {
        return nodeFallbacks.sum();
    }

    /** The node's fetcher, if this reader is its node's local rank 0 with node fetch on; else null. */
    public NodeFetcher nodeFetcher() {
        return nodeFetcher;
    }

    /** This process's follower of the stream (tests and diagnostics); null for a reader fed by a hand-off. */
    SharedFollower follower() {
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
     * The stream's log as this process's shared follower sees it.
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
        if (head == null) {
            throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis);
        }
        // head is a dispatched step, so it is committed: say why it is not here yet
        if (waitingForSlab.contains(nextStep)) {
            throw new PoolExhaustedException(store.describe(), rank, nextStep, pool.maxSlabs(), held.list(), timeoutMillis);
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
                if (head == null) {
                    head = ready.poll(slice, TimeUnit.NANOSECONDS);
                }
                if (head != null) {
                    try {
                        StepBatch b = head.get(slice, TimeUnit.NANOSECONDS);
                        head = null;
                        heldFullSince = -1;
                        nextStep = b.step() + stride;
                        long step = b.step();
                        held.add(step);
                        b.onClose(held);
                        ReaderMetrics.delivered(called, b);
                        return b;
                    } catch (TimeoutException notYet) {
                        // head is kept: the step is still delivered by a later call
                        checkHeldByConsumer();
                    }
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
                // head stays: the end is reported again by every later call, never skipped
                throw new EndOfStreamException(store.describe(), end.endStep(), nextStep);
            }
            head = null;
            failed = e.getCause();
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("fetch of step " + nextStep + " failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * The next step waits for a slab while the consumer holds batches: the other slabs belong to
     * later steps, fetched ahead, which cannot be delivered (nor freed) before this one, so
     * nothing but the consumer can free one, and waiting out the timeout only hides the cause. A
     * short grace covers a batch being closed on another thread (a pin-memory thread, a
     * finalizer); slabs waiting for device copies free themselves, and a pool shared with other
     * readers may get slabs back from them, so then we wait.
     */
    private void checkHeldByConsumer() {
        if (!ownsPool || !waitingForSlab.contains(nextStep) || held.count() == 0 || pool.fencedCount() > 0) {
            heldFullSince = -1;
            return;
        }
        long now = clock.monotonicNanos();
        if (heldFullSince < 0) {
            heldFullSince = now;
        } else if (now - heldFullSince >= TimeUnit.MILLISECONDS.toNanos(POOL_HELD_GRACE_MILLIS)) {
            long waited = TimeUnit.NANOSECONDS.toMillis(now - heldFullSince);
            heldFullSince = -1;
            throw new PoolExhaustedException(store.describe(), rank, nextStep, pool.maxSlabs(), held.list(), waited);
        }
    }

    private void dispatch(long start) {
        long step = start;
        try {
            while (!closed) {
                if (step >= feed.committedSteps()) {
                    if (feed.endStep() < 0) {
                        // a store failure that outlives the store's retries stops the reader: next() throws it
                        feed.await(step, DISPATCH_WAIT_NANOS); // close interrupts it
                    }
                    long end = feed.endStep();
                    if (end >= 0 && step >= end) {
                        // Closed stream: nothing will follow. The consumer learns it after the last step.
                        ready.put(CompletableFuture.failedFuture(new EndOfStreamException(store.describe(), end, step)));
                        return;
                    }
                    if (step >= feed.committedSteps()) {
                        continue;
                    }
                }
                final long s = step;
                final TgbEntry entry = feed.entry(s);
                feed.position(s + stride); // the shared log may forget the entries below
                Future<StepBatch> f = fetchers.submit(() -> fetch(s, entry));
                ready.put(f);
                step += stride; // the steps in between belong to other readers: never fetched
            }
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            if (!closed) {
                ready.offer(CompletableFuture.failedFuture(e));
            }
        }
    }

    /**
     * A slab of {@code need} bytes for {@code step}, waiting as long as it takes (closing the
     * reader interrupts us); meanwhile the consumer's next() sees the step in waitingForSlab and
     * reports the exhaustion instead of a timeout. Every fetch path leases here.
     */
    private PinnedPool.Lease lease(long step, long need) throws InterruptedException {
        PinnedPool.Lease lease = pool.tryAcquire(need, 0);
        if (lease == null) {
            waitingForSlab.add(step);
            try {
                while (lease == null) {
                    lease = pool.tryAcquire(need, 1_000);
                }
            } finally {
                waitingForSlab.remove(step);
            }
        }
        return lease;
    }

    private StepBatch fetch(long step, TgbEntry entry) throws InterruptedException {
        if (worldSize != streamWorldSize) {
            try {
                return ElasticFetch.fetch(store, bytes -> lease(step, bytes), step, entry, rank, worldSize, store.describe(), clock);
            } catch (NoSuchKeyException gone) {
                throw missing(step, entry, gone);
            }
        }
        long t0 = clock.monotonicNanos();
        ShardEntry shard = entry.shards().get(rank);
        // Decoders name the object in their errors; the stream, step and rank are added if one
        // throws (building that text for every step would be the read path's largest garbage).
        String where = entry.object();
        Codec codec = Codec.parse(entry.codec(), where);
        if (nodeSlices != null) {
            StepBatch b = fetchFromNode(step, entry, shard, codec, t0);
            if (b != null) {
                return b;
            }
        }
        long need = shard.length() + (codec == Codec.LZ4 ? shard.rawLength() : 0);
        try {
            ShardReads.boundByObject(store, entry, need, store.describe(), step, rank);
        } catch (NoSuchKeyException gone) {
            throw missing(step, entry, gone);
        }
        PinnedPool.Lease lease = lease(step, need);
        try {
            MemorySegment stored = lease.segment().asSlice(0, shard.length());
            try {
                store.readRange(entry.object(), shard.offset(), stored);
                bytesRead.add(stored.byteSize());
            } catch (NoSuchKeyException gone) {
                throw missing(step, entry, gone);
            } catch (StoreException e) {
                throw ShardReads.explainShortRead(store, entry, e, store.describe(), step, rank);
            }
            long crc = Crc32c.of(stored);
            if (crc != shard.crc32c()) {
                // One re-read tells a torn transfer from corruption at rest.
                store.readRange(entry.object(), shard.offset(), stored);
                bytesRead.add(stored.byteSize());
                crc = Crc32c.of(stored);
            }
            if (crc != shard.crc32c()) {
                throw new ChecksumMismatchException("checksum mismatch in " + where(step, entry) + " (bytes " + shard.offset() + ".."
                        + (shard.offset() + shard.length()) + "): manifest crc32c " + Long.toHexString(shard.crc32c())
                        + ", read " + Long.toHexString(crc), store.describe(), step, rank, entry.object());
            }
            MemorySegment blob = stored;
            if (codec == Codec.LZ4) {
                blob = lease.segment().asSlice(shard.length(), shard.rawLength());
                Lz4Frames.decode(stored, blob, where);
            }
            return batch(step, entry, shard, blob, lease, null, t0, shard.length());
        } catch (FormatException e) {
            lease.close();
            throw named(e, step, entry);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    /**
     * The step from the node's shared copy (local rank 0 first fetches it for the node with one
     * ranged GET); null when there is no usable copy and this rank should read its shard itself.
     */
    private StepBatch fetchFromNode(long step, TgbEntry entry, ShardEntry shard, Codec codec, long t0) throws InterruptedException {
        long fetched = 0;
        if (nodeFetcher != null) {
            try {
                fetched = nodeFetcher.publish(step, entry); // a store failure is this reader's failure, as its own GET's would be
            } catch (NoSuchKeyException gone) {
                throw missing(step, entry, gone);
            }
            bytesRead.add(fetched);
        }
        NodeSlice slice;
        try {
            slice = nodeSlices.acquire(step, entry, rank);
        } catch (NodeFetchFailedException e) {
            if (!nodeFetch.fallback()) {
                throw e;
            }
            nodeFallbacks.increment();
            return null;
        }
        try {
            if (codec == Codec.LZ4) {
                // decoded into this rank's own slab; the node's copy is released at once
                PinnedPool.Lease lease = lease(step, shard.rawLength());
                try {
                    MemorySegment blob = lease.segment().asSlice(0, shard.rawLength());
                    Lz4Frames.decode(slice.data(), blob, entry.object());
                    slice.close();
                    nodeServed.increment();
                    return batch(step, entry, shard, blob, lease, null, t0, fetched);
                } catch (FormatException e) {
                    lease.close();
                    throw named(e, step, entry);
                } catch (RuntimeException e) {
                    lease.close();
                    throw e;
                }
            }
            StepBatch b = batch(step, entry, shard, slice.data(), null, slice, t0, fetched);
            nodeServed.increment();
            return b;
        } catch (RuntimeException e) {
            slice.close();
            throw e;
        }
    }

    /** The delivered batch over the verified, decoded tensor blob (the caller releases lease or slice if this throws). */
    private StepBatch batch(long step, TgbEntry entry, ShardEntry shard, MemorySegment blob, PinnedPool.Lease lease, NodeSlice slice,
                            long t0, long fetched) {
        String where = entry.object();
        try {
            if (Codec.parse(entry.codec(), where) != Codec.LZ4 && shard.rawLength() != shard.length()) {
                throw new FormatException(where + ": uncompressed shard has raw_length " + shard.rawLength() + " != length "
                        + shard.length());
            }
            List<TensorBlob.View> views = blobs.parse(blob, where);
            List<Tensor> tensors = new ArrayList<>(views.size());
            for (TensorBlob.View v : views) {
                if (v.shape()[0] != shard.samples()) {
                    throw new FormatException(where + ": tensor '" + v.name() + "' has " + v.shape()[0] + " samples, manifest says "
                            + shard.samples());
                }
                tensors.add(new Tensor(v.name(), v.dtype(), v.shape(), v.data()));
            }
            return new StepBatch(step, rank, entry.object(), shard.samples(), shard.firstSample(), List.copyOf(tensors),
                    TensorBlob.dataSection(blob), lease, slice, clock.monotonicNanos() - t0, fetched);
        } catch (FormatException e) {
            throw named(e, step, entry);
        }
    }

    /**
     * The decoders' messages start with the object's key (their "where"): put the stream, step and
     * rank in front, as the message would have read with the full where, and carry them as fields.
     */
    private FormatException named(FormatException e, long step, TgbEntry entry) {
        return e.key() != null ? e : new FormatException("stream " + store.describe() + " step " + step + " rank " + rank
                + " object " + e.getMessage(), store.describe(), entry.object(), e);
    }

    /** The batch object of {@code step} is gone: reclaimed under us (then say so with the floor), or lost. */
    private RuntimeException missing(long step, TgbEntry entry, NoSuchKeyException gone) {
        ManifestLog fresh = ManifestLog.open(store, true, env);
        if (step < fresh.state().floorStep() || step < fresh.state().reclaimedBelowStep()) {
            return new BelowFloorException(store.describe(), step, Math.max(fresh.state().floorStep(), fresh.state().reclaimedBelowStep()));
        }
        return new StoreException(where(step, entry) + ": batch object is missing although the step is at or above the retention floor "
                + fresh.state().floorStep(), store.describe(), entry.object(), gone, false);
    }

    private String where(long step, TgbEntry entry) {
        return "stream " + store.describe() + " step " + step + " rank " + rank + " object " + entry.object();
    }

    @Override
    public void close() {
        if (closed && !dispatcher.isAlive() && fetchers.isShutdown()) {
            return;
        }
        closed = true;
        dispatcher.interrupt();
        try {
            dispatcher.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Interrupt fetches too: one may be waiting for a pool slab the consumer still holds.
        fetchers.shutdownNow();
        try {
            fetchers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Future<StepBatch> f = head;
        head = null;
        if (f == null) {
            f = ready.poll();
        }
        for (; f != null; f = ready.poll()) {
            if (f.isDone() && !f.isCancelled()) {
                try {
                    f.get().close();
                } catch (ExecutionException | InterruptedException ignored) {
                    // failed fetches hold no lease
                }
            }
        }
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
