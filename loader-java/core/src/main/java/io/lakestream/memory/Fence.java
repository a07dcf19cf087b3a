package io.lakestream.memory;

/**
 * Work that may still read a slab after its batch was released: e.g. an asynchronous
 * host-to-device copy queued on a CUDA stream. A pool lends a slab released with a fence again
 * only after the fence is done ({@link PinnedPool.Lease#closeAfter}).
 */
public interface Fence extends AutoCloseable {
    /** True once nothing queued before the fence can touch the memory any more. Never blocks. */
    boolean isDone();

    /** Blocks until {@link #isDone()}. */
    void await();

    /** Frees what the fence holds (e.g. a CUDA event); called once, after it is done. */
    @Override
    void close();
}
