package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.TgbEntry;
import io.lakestream.memory.PinnedPool;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import io.lakestream.time.Clock;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * One rank's fetch of one step, run on a {@link RankReader}'s fetch threads: a slab from the
 * reader's pool, the rank's bytes into it (its own ranged read, the node's shared copy, or, for
 * an elastic reader, the ranges of the stream's shards it spans), CRC32C-checked and LZ4-decoded
 * in place, parsed into the delivered {@link StepBatch}.
 *
 * <p>It borrows the pool and the node-fetch parts; the reader owns and closes them. Every error
 * names the stream, step, rank and object.
 */
final class ShardFetch {
    private final ObjectStore store;
    private final StreamEnv env;
    private final Clock clock;
    private final TensorBlob.Parser blobs = new TensorBlob.Parser();
    private final int rank;
    private final int worldSize;
    private final int streamWorldSize;
    private final PinnedPool pool;
    /** Whether the batches' views die with them ({@link ReaderOptions#checkedViews()}). */
    private final boolean checkedViews;
    /** With node fetch (null without): this rank's side of it, and the fetcher if this is the node's local rank 0. */
    private final NodeFetch nodeFetch;
    private final NodeSlices nodeSlices;
    private final NodeFetcher nodeFetcher;
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder nodeServed = new LongAdder();
    private final LongAdder nodeFallbacks = new LongAdder();
    /** Steps whose fetch is waiting for a pool slab. */
    private final Set<Long> waitingForSlab = ConcurrentHashMap.newKeySet();
    /** Each fetch thread's shard fields of the step it fetches. */
    private final ThreadLocal<RankShard> shards = ThreadLocal.withInitial(RankShard::new);

    ShardFetch(ObjectStore store, StreamEnv env, int rank, int worldSize, int streamWorldSize, PinnedPool pool, boolean checkedViews,
               NodeFetch nodeFetch, NodeSlices nodeSlices, NodeFetcher nodeFetcher) {
        this.store = store;
        this.env = env;
        this.clock = env.clock();
        this.rank = rank;
        this.worldSize = worldSize;
        this.streamWorldSize = streamWorldSize;
        this.pool = pool;
        this.checkedViews = checkedViews;
        this.nodeFetch = nodeFetch;
        this.nodeSlices = nodeSlices;
        this.nodeFetcher = nodeFetcher;
    }

    long bytesRead() {
        return bytesRead.sum();
    }

    long nodeServed() {
        return nodeServed.sum();
    }

    long nodeFallbacks() {
        return nodeFallbacks.sum();
    }

    /** Whether the fetch of {@code step} is waiting for a pool slab right now. */
    boolean waitingForSlab(long step) {
        return waitingForSlab.contains(step);
    }

    /**
     * A slab of {@code need} bytes for {@code step}, waiting as long as it takes (closing the
     * reader interrupts us); meanwhile the consumer's next() sees the step in waitingForSlab and
     * reports the exhaustion instead of a timeout. Every fetch path leases here.
     */
    private PinnedPool.Lease lease(long step, long need) throws InterruptedException {
        PinnedPool.Lease lease = pool.tryAcquire(need, 0, checkedViews);
        if (lease == null) {
            waitingForSlab.add(step);
            try {
                while (lease == null) {
                    lease = pool.tryAcquire(need, 1_000, checkedViews);
                }
            } finally {
                waitingForSlab.remove(step);
            }
        }
        return lease;
    }

    StepBatch fetch(long step, TgbEntry entry) throws InterruptedException {
        if (worldSize != streamWorldSize) {
            try {
                return ElasticFetch.fetch(store, bytes -> lease(step, bytes), step, entry, rank, worldSize, store.describe(), clock);
            } catch (NoSuchKeyException gone) {
                throw missing(step, entry, gone);
            }
        }
        long t0 = clock.monotonicNanos();
        RankShard shard = shards.get().load(entry.shards(), rank);
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
            MemorySegment leased = lease.segment();
            // the lease is exactly the stored shard when it is not compressed: no slice of it per step
            MemorySegment stored = leased.byteSize() == shard.length() ? leased : leased.asSlice(0, shard.length());
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
    private StepBatch fetchFromNode(long step, TgbEntry entry, RankShard shard, Codec codec, long t0) throws InterruptedException {
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
            slice = nodeSlices.acquire(step, entry, rank, checkedViews);
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
    private StepBatch batch(long step, TgbEntry entry, RankShard shard, MemorySegment blob, PinnedPool.Lease lease, NodeSlice slice,
                            long t0, long fetched) {
        String where = entry.object();
        try {
            if (Codec.parse(entry.codec(), where) != Codec.LZ4 && shard.rawLength() != shard.length()) {
                throw new FormatException(where + ": uncompressed shard has raw_length " + shard.rawLength() + " != length "
                        + shard.length());
            }
            List<Tensor> tensors = blobs.parse(blob, where, Tensor::new); // the tensors themselves, no views in between
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                if (t.shape()[0] != shard.samples()) {
                    throw new FormatException(where + ": tensor '" + t.name() + "' has " + t.shape()[0] + " samples, manifest says "
                            + shard.samples());
                }
            }
            return new StepBatch(step, rank, entry.object(), shard.samples(), shard.firstSample(), tensors,
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
}
