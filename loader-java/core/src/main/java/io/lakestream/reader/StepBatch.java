package io.lakestream.reader;

import io.lakestream.memory.CudaFence;
import io.lakestream.memory.Fence;
import io.lakestream.memory.NativeShims;
import io.lakestream.memory.PinnedPool;
import io.lakestream.memory.Pinner;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One rank's shard of one step, decoded in pool memory, or read in place from the node's shared
 * copy (see {@link NodeFetch}). Owns its lease (or its mapping of the node's copy): close it when
 * done so the slab returns to the pool (or the node's file can be removed); every tensor view
 * dies with it.
 */
public final class StepBatch implements AutoCloseable {
    private final long step;
    private final int rank;
    private final String object;
    private final long samples;
    private final List<Tensor> tensors;
    private final MemorySegment tensorBytes;
    private final PinnedPool.Lease lease; // null when the bytes are a mapping of the node's copy
    private final NodeSlice slice; // null when they are in a pool slab
    private final long fetchNanos;
    private final long bytesFetched;
    private final long firstSample;
    private volatile HeldSteps onClose;

    StepBatch(long step, int rank, String object, long samples, List<Tensor> tensors, MemorySegment tensorBytes,
              PinnedPool.Lease lease, long fetchNanos, long bytesFetched) {
        this(step, rank, object, samples, 0, tensors, tensorBytes, lease, fetchNanos, bytesFetched);
    }

    StepBatch(long step, int rank, String object, long samples, long firstSample, List<Tensor> tensors, MemorySegment tensorBytes,
              PinnedPool.Lease lease, long fetchNanos, long bytesFetched) {
        this(step, rank, object, samples, firstSample, tensors, tensorBytes, lease, null, fetchNanos, bytesFetched);
    }

    StepBatch(long step, int rank, String object, long samples, long firstSample, List<Tensor> tensors, MemorySegment tensorBytes,
              PinnedPool.Lease lease, NodeSlice slice, long fetchNanos, long bytesFetched) {
        this.step = step;
        this.rank = rank;
        this.object = object;
        this.samples = samples;
        this.firstSample = firstSample;
        this.tensors = tensors;
        this.tensorBytes = tensorBytes;
        this.lease = lease;
        this.slice = slice;
        this.fetchNanos = fetchNanos;
        this.bytesFetched = bytesFetched;
    }

    /** Told once when the batch is closed (the reader's record of the steps its consumer holds). */
    void onClose(HeldSteps held) {
        this.onClose = held;
    }

    public long step() {
        return step;
    }

    public int rank() {
        return rank;
    }

    /** Key of the batch object this shard came from. */
    public String object() {
        return object;
    }

    public long samples() {
        return samples;
    }

    /**
     * Index of this shard's first sample within the step's global batch: the shard holds global
     * samples {@code [firstSample, firstSample + samples)} of the step.
     */
    public long firstSample() {
        return firstSample;
    }

    public List<Tensor> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}. */
    public Tensor tensor(String name) {
        for (Tensor t : tensors) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("step " + step + " rank " + rank + " has no tensor '" + name + "' (has " + tensors + ")");
    }

    /** Every tensor's bytes, back to back in storage order (what {@code --print digest} hashes). */
    public MemorySegment tensorBytes() {
        return tensorBytes;
    }

    /** Wall time the fetch, checksum and decode of this shard took. */
    public long fetchNanos() {
        return fetchNanos;
    }

    /** Bytes read from the store for this shard (one ranged read). */
    public long bytesFetched() {
        return bytesFetched;
    }

    /** Decoded bytes delivered (read amplification = bytesFetched / this, for uncompressed shards). */
    public long bytesDelivered() {
        return tensorBytes.byteSize();
    }

    /** Native address of the tensor bytes (for zero-copy hand-off to Python). */
    public long address() {
        return tensorBytes.address();
    }

    /** The pool lease holding the bytes; null when they are read in place from the node's shared copy. */
    public PinnedPool.Lease lease() {
        return lease;
    }

    /** Whether the bytes are read in place from the node's shared copy (one ranged GET per node, see {@link NodeFetch}). */
    public boolean fromNodeCopy() {
        return slice != null;
    }

    /** How the memory is pinned: the pool's mode, or NONE for a mapping of the node's copy (not page-locked). */
    public Pinner.Mode pinMode() {
        return lease != null ? lease.pinMode() : Pinner.Mode.NONE;
    }

    @Override
    public void close() {
        if (lease != null) {
            lease.close();
        } else {
            slice.close();
        }
        HeldSteps h = onClose;
        if (h != null) {
            onClose = null;
            h.remove(step);
        }
    }

    /**
     * Releases the step, but keeps its slab out of the pool until every copy queued so far on
     * {@code cudaStreams} (CUDA stream handles; 0 = the legacy default stream) has run. Use it
     * after {@code .cuda(non_blocking=True)} / {@code cudaMemcpyAsync} from the step's memory:
     * such a copy runs later, and reading a slab already refilled with another step would copy
     * the wrong bytes. Only CUDA-registered slabs need this: CUDA stages copies from other host
     * memory before the call returns, so in MLOCK/NONE mode (or with no streams) this is
     * {@link #close()}.
     */
    public void closeAfterCudaStreams(long... cudaStreams) {
        if (cudaStreams.length == 0 || pinMode() != Pinner.Mode.CUDA) {
            close();
            return;
        }
        lease.closeAfter(CudaFence.record(NativeShims.require(), cudaStreams));
    }

    /** Releases the step; its slab is lent again only after {@code fence} is done (see {@link PinnedPool}). */
    public void closeAfter(Fence fence) {
        if (lease == null) {
            close(); // a mapping is not CUDA-registered: CUDA stages copies from it before the call returns
            return;
        }
        lease.closeAfter(fence);
    }
}
