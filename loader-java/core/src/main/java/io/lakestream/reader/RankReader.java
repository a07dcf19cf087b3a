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
    /** This reader's subscription to its process's follower of the stream's log. */
    private final SharedFollower.Subscription follower;
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
    private volatile boolean closed;
    private long nextStep;
    private Future<StepBatch> head; // consumer-owned: taken from ready, not yet delivered
    private Throwable failed;
    /** Steps whose fetch is waiting for a pool slab. */
    private final Set<Long> waitingForSlab = ConcurrentHashMap.newKeySet();
    /** Steps delivered to the consumer and not closed yet (each holds a slab). */
    private final HeldSteps held = new HeldSteps();

    private RankReader(SharedFollower.Subscription follower, ObjectStore store, StreamEnv env, int rank, int worldSize,
                       long startStep, ReaderOptions options, PinnedPool pool, boolean ownsPool) {
        this.follower = follower;
        this.env = env;
        this.clock = env.clock();
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.streamWorldSize = follower.log().config().worldSize();
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

    private static RankReader open(ObjectStore store, int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool,
                                   StreamEnv env, boolean elastic) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside world size " + worldSize);
        }
        if (startStep < 0) {
            throw new IllegalArgumentException("start step must be >= 0, got " + startStep);
        }
        SharedFollower.Subscription sub = SharedFollower.subscribe(store, env, startStep, options);
        try {
            ManifestLog log = sub.log();
            if (!elastic && log.config().worldSize() != worldSize) {
                throw new WorldSizeMismatchException(store.describe(), log.config().worldSize(), worldSize,
                        "open the reader as elastic (RankReader.openElastic, consume --elastic, TorchDataset(elastic=True)) to split "
                                + "each step's samples over " + worldSize + " ranks");
            }
            ManifestState st = log.state();
            if (startStep < st.floorStep() || startStep < st.reclaimedBelowStep()) {
                throw new BelowFloorException(store.describe(), startStep, Math.max(st.floorStep(), st.reclaimedBelowStep()));
            }
            boolean owns = pool == null;
            PinnedPool p = owns ? new PinnedPool(options.poolSlabBytes(), 2 * Math.max(1, options.prefetch()) + 2, Pinners.defaultPinner())
                    : pool;
            RankReader r = new RankReader(sub, store, env, rank, worldSize, startStep, options, p, owns);
            r.dispatcher.start();
            return r;
        } catch (RuntimeException | Error e) {
            sub.close();
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
        return follower.follower().polls();
    }

    /** The next step {@link #next} returns: save this with the training checkpoint. */
    public long nextStep() {
        return nextStep;
    }

    /** The stream's log as this process's shared follower sees it. */
    public ManifestLog log() {
        return follower.log();
    }

    /** The step the stream ended at (its number of steps) if it was closed, as of the reader's last look at the log; else -1. */
    public long endStep() {
        return follower.log().state().endStep();
    }

    /** Whether the stream is closed and every one of its steps from the start step on was delivered. */
    public boolean atEnd() {
        ManifestState s = follower.log().state();
        return s.ended() && nextStep >= s.endStep();
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
     *                                holds every pool slab (the reader stays usable)
     * @throws EndOfStreamException   at once, if the stream was closed and every step was delivered
     * @throws FormatException        on a checksum mismatch or malformed data, naming step, rank
     *                                and object
     */
    public StepBatch next(long timeoutMillis) {
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
                        nextStep = b.step() + stride;
                        long step = b.step();
                        held.add(step);
                        b.onClose(held);
                        ReaderMetrics.delivered(called, b);
                        return b;
                    } catch (TimeoutException notYet) {
                        // head is kept: the step is still delivered by a later call
                    }
                }
                if (clock.monotonicNanos() - deadline >= 0) {
                    if (head == null) {
                        throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis);
                    }
                    // head is a dispatched step, so it is committed: say why it is not here yet
                    if (waitingForSlab.contains(nextStep)) {
                        throw new PoolExhaustedException(store.describe(), rank, nextStep, pool.maxSlabs(), held.list(),
                                timeoutMillis);
                    }
                    throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis, true);
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

    private void dispatch(long start) {
        long step = start;
        try {
            while (!closed) {
                ManifestState st = follower.log().state();
                if (step >= st.committedSteps()) {
                    if (!st.ended()) {
                        // a store failure that outlives the store's retries stops the reader: next() throws it
                        st = follower.await(step, DISPATCH_WAIT_NANOS); // close interrupts it
                    }
                    if (st.ended() && step >= st.endStep()) {
                        // Closed stream: nothing will follow. The consumer learns it after the last step.
                        ready.put(CompletableFuture.failedFuture(new EndOfStreamException(store.describe(), st.endStep(), step)));
                        return;
                    }
                    if (step >= st.committedSteps()) {
                        continue;
                    }
                }
                final long s = step;
                final TgbEntry entry = follower.entry(s);
                follower.position(s + stride); // the shared log may forget the entries below
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

    private StepBatch fetch(long step, TgbEntry entry) throws InterruptedException {
        if (worldSize != streamWorldSize) {
            return ElasticFetch.fetch(store, pool, step, entry, rank, worldSize, store.describe());
        }
        long t0 = clock.monotonicNanos();
        ShardEntry shard = entry.shards().get(rank);
        // Decoders name the object in their errors; the stream, step and rank are added if one
        // throws (building that text for every step would be the read path's largest garbage).
        String where = entry.object();
        Codec codec = Codec.parse(entry.codec(), where);
        long need = shard.length() + (codec == Codec.LZ4 ? shard.rawLength() : 0);
        PinnedPool.Lease lease = pool.tryAcquire(need, 0);
        if (lease == null) {
            // Wait as long as it takes (closing the reader interrupts us); the consumer's next()
            // sees this step in waitingForSlab and reports the exhaustion instead of a timeout.
            waitingForSlab.add(step);
            try {
                while (lease == null) {
                    lease = pool.tryAcquire(need, 1_000);
                }
            } finally {
                waitingForSlab.remove(step);
            }
        }
        try {
            MemorySegment stored = lease.segment().asSlice(0, shard.length());
            try {
                store.readRange(entry.object(), shard.offset(), stored);
                bytesRead.add(stored.byteSize());
            } catch (NoSuchKeyException gone) {
                // Reclaimed under us? Then say so with the floor; otherwise the object is lost.
                ManifestLog fresh = ManifestLog.open(store, true, env);
                if (step < fresh.state().floorStep() || step < fresh.state().reclaimedBelowStep()) {
                    throw new BelowFloorException(store.describe(), step, fresh.state().floorStep());
                }
                throw new StoreException(where(step, entry) + ": batch object is missing although the step is at or above the retention floor "
                        + fresh.state().floorStep(), store.describe(), entry.object(), gone, false);
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
            } else if (shard.rawLength() != shard.length()) {
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
                    TensorBlob.dataSection(blob), lease, clock.monotonicNanos() - t0, shard.length());
        } catch (FormatException e) {
            lease.close();
            // the decoders' messages start with the object's key (their "where"): put the stream, step and
            // rank in front, as the message would have read with the full where, and carry them as fields
            throw e.key() != null ? e : new FormatException("stream " + store.describe() + " step " + step + " rank " + rank
                    + " object " + e.getMessage(), store.describe(), entry.object(), e);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
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
        follower.close();
        if (ownsPool) {
            pool.close();
        }
    }
}
