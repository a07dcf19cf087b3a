package io.lakestream.memory;

import java.lang.foreign.MemorySegment;

/**
 * Pins pool slabs so frameworks can DMA from them. Implementations: page-locking through the
 * native shim (CUDA host registration or mlock), or {@link #NONE}.
 */
public interface Pinner {
    /** What pinning a slab achieved. */
    enum Mode { CUDA, MLOCK, NONE }

    /** Pins {@code slab}; returns the mode that took effect (NONE if pinning failed). */
    Mode pin(MemorySegment slab);

    /** Undoes {@link #pin} for a slab pinned with {@code mode}. */
    void unpin(MemorySegment slab, Mode mode);

    Pinner NONE = new Pinner() {
        @Override
        public Mode pin(MemorySegment slab) {
            return Mode.NONE;
        }

        @Override
        public void unpin(MemorySegment slab, Mode mode) {}
    };
}
