package io.lakestream.memory;

import java.util.ArrayList;
import java.util.List;

/**
 * CUDA events recorded through the native shim on one or more streams: done when every one of
 * them has completed, i.e. when every copy queued on those streams before the fence was made has
 * run. PyTorch records no event of its own for memory it did not allocate, so this is what keeps
 * a slab out of the pool while a {@code .cuda(non_blocking=True)} copy from it is still queued.
 */
public final class CudaFence implements Fence {
    private final NativeShims shims;
    private final long[] events;
    private int pending; // events[0..pending) not seen done yet

    private CudaFence(NativeShims shims, long[] events) {
        this.shims = shims;
        this.events = events;
        this.pending = events.length;
    }

    /** Records an event on each of {@code streams} now (0: the legacy default stream). */
    public static CudaFence record(NativeShims shims, long... streams) {
        List<Long> made = new ArrayList<>(streams.length);
        try {
            for (long s : streams) {
                made.add(shims.cudaEventRecord(s));
            }
        } catch (RuntimeException e) {
            for (long ev : made) {
                shims.cudaEventDestroy(ev);
            }
            throw e;
        }
        return new CudaFence(shims, made.stream().mapToLong(Long::longValue).toArray());
    }

    @Override
    public synchronized boolean isDone() {
        while (pending > 0 && shims.cudaEventDone(events[pending - 1])) {
            pending--;
        }
        return pending == 0;
    }

    @Override
    public void await() {
        for (long ev : events) {
            shims.cudaEventSynchronize(ev);
        }
        synchronized (this) {
            pending = 0;
        }
    }

    @Override
    public void close() {
        for (long ev : events) {
            shims.cudaEventDestroy(ev);
        }
    }
}
