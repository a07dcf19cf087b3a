package io.lakestream.reader;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.TgbEntry;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.Retry;
import io.lakestream.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
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
 * <p>With {@link ReaderOptions#stepStride()} {@code n > 1} the reader delivers only the start step
 * and every {@code n}-th step after it; the dispatcher neither fetches nor checksums the others
 * (so {@code n} readers started at {@code first, first + 1, …} together read each step once).
 */
public final class RankReader implements AutoCloseable {
    private final ManifestLog log;
    private final ObjectStore store;
    private final int rank;
    private final int worldSize;
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

    private RankReader(ManifestLog log, int rank, long startStep, ReaderOptions options, PinnedPool pool, boolean ownsPool) {
        this.log = log;
        this.store = log.store();
        this.rank = rank;
        this.worldSize = log.config().worldSize();
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
        if (worldSize < 1) {
            throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside world size " + worldSize);
        }
        if (startStep < 0) {
            throw new IllegalArgumentException("start step must be >= 0, got " + startStep);
        }
        ManifestLog log = ManifestLog.open(store, worldSize, true);
        if (startStep < log.state().floorStep() || startStep < log.state().reclaimedBelowStep()) {
            throw new BelowFloorException(store.describe(), startStep, Math.max(log.state().floorStep(), log.state().reclaimedBelowStep()));
        }
        boolean owns = pool == null;
        PinnedPool p = owns ? new PinnedPool(options.poolSlabBytes(), 2 * Math.max(1, options.prefetch()) + 2, Pinners.defaultPinner()) : pool;
        RankReader r = new RankReader(log, rank, startStep, options, p, owns);
        r.dispatcher.start();
        return r;
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /**
     * Bytes of batch data this reader read from the store so far (each shard read, a re-read
     * after a checksum mismatch included; log reads not).
     */
    public long bytesRead() {
        return bytesRead.sum();
    }

    /** The next step {@link #next} returns: save this with the training checkpoint. */
    public long nextStep() {
        return nextStep;
    }

    public ManifestLog log() {
        return log;
    }

    /**
     * The next step's batch, waiting up to {@code timeoutMillis} for it to be committed and
     * fetched. The caller closes the batch.
     *
     * @throws ReaderTimeoutException if it did not arrive in time (the reader stays usable)
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
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        try {
            if (head == null) {
                head = ready.poll(timeoutMillis, TimeUnit.MILLISECONDS);
                if (head == null) {
                    throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis);
                }
            }
            // A timeout below keeps head: the step is still delivered by the next call.
            StepBatch b = head.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            head = null;
            nextStep = b.step() + stride;
            return b;
        } catch (TimeoutException e) {
            throw new ReaderTimeoutException(store.describe(), nextStep, timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for step " + nextStep, e);
        } catch (ExecutionException e) {
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
        long wait = options.minPollMillis();
        try {
            while (!closed) {
                if (step >= log.state().committedSteps()) {
                    Retry.idempotent(10, 2000, log::refresh);
                    if (step >= log.state().committedSteps()) {
                        Thread.sleep(wait);
                        wait = Math.min(options.maxPollMillis(), wait * 2);
                        continue;
                    }
                }
                wait = options.minPollMillis();
                final long s = step;
                final TgbEntry entry = log.entry(s);
                log.forgetBefore(s + 1);
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
        long t0 = System.nanoTime();
        ShardEntry shard = entry.shards().get(rank);
        String where = "stream " + store.describe() + " step " + step + " rank " + rank + " object " + entry.object();
        Codec codec = Codec.parse(entry.codec(), where);
        long need = shard.length() + (codec == Codec.LZ4 ? shard.rawLength() : 0);
        PinnedPool.Lease lease = pool.acquire(need, 60_000);
        try {
            MemorySegment stored = lease.segment().asSlice(0, shard.length());
            try {
                Retry.idempotent(6, 1000, () -> store.readRange(entry.object(), shard.offset(), stored));
                bytesRead.add(stored.byteSize());
            } catch (NoSuchKeyException gone) {
                // Reclaimed under us? Then say so with the floor; otherwise the object is lost.
                ManifestLog fresh = ManifestLog.open(store, true);
                if (step < fresh.state().floorStep() || step < fresh.state().reclaimedBelowStep()) {
                    throw new BelowFloorException(store.describe(), step, fresh.state().floorStep());
                }
                throw new StoreException(where + ": batch object is missing although the step is at or above the retention floor "
                        + fresh.state().floorStep(), entry.object(), gone);
            }
            long crc = Crc32c.of(stored);
            if (crc != shard.crc32c()) {
                // One re-read tells a torn transfer from corruption at rest.
                Retry.idempotent(6, 1000, () -> store.readRange(entry.object(), shard.offset(), stored));
                bytesRead.add(stored.byteSize());
                crc = Crc32c.of(stored);
            }
            if (crc != shard.crc32c()) {
                throw new ChecksumMismatchException("checksum mismatch in " + where + " (bytes " + shard.offset() + ".."
                        + (shard.offset() + shard.length()) + "): manifest crc32c " + Long.toHexString(shard.crc32c())
                        + ", read " + Long.toHexString(crc));
            }
            MemorySegment blob = stored;
            if (codec == Codec.LZ4) {
                blob = lease.segment().asSlice(shard.length(), shard.rawLength());
                Lz4Frames.decode(stored, blob, where);
            } else if (shard.rawLength() != shard.length()) {
                throw new FormatException(where + ": uncompressed shard has raw_length " + shard.rawLength() + " != length "
                        + shard.length());
            }
            List<TensorBlob.View> views = TensorBlob.parse(blob, where);
            List<Tensor> tensors = new ArrayList<>(views.size());
            for (TensorBlob.View v : views) {
                if (v.shape()[0] != shard.samples()) {
                    throw new FormatException(where + ": tensor '" + v.name() + "' has " + v.shape()[0] + " samples, manifest says "
                            + shard.samples());
                }
                tensors.add(new Tensor(v.name(), v.dtype(), v.shape(), v.data()));
            }
            return new StepBatch(step, rank, entry.object(), shard.samples(), List.copyOf(tensors), TensorBlob.dataSection(blob),
                    lease, System.nanoTime() - t0, shard.length());
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
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
        if (ownsPool) {
            pool.close();
        }
    }
}
