package io.lakestream.reader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One rank's shard of one step, read in place from its node's step file (see {@link NodeSlices}):
 * a copy-on-write mapping of the shard's bytes (a rank that writes into its tensors changes its own
 * pages only) and a shared mapping of the file's header. Closing it sets the rank's bit of the
 * release word and unmaps both; the fetcher removes the file once every bit is set.
 */
public final class NodeSlice implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment header;
    private final MemorySegment data;
    private final long bit;
    private boolean closed;

    NodeSlice(Arena arena, MemorySegment header, MemorySegment data, int localRank) {
        this.arena = arena;
        this.header = header;
        this.data = data;
        this.bit = 1L << localRank;
    }

    /** The shard's stored bytes (valid until {@link #close()}). */
    public MemorySegment data() {
        return data;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // released first: the fetcher may unlink the file now, and our mapping keeps its pages until we unmap
        long ignored = (long) NodeFiles.WORD.getAndBitwiseOr(header, NodeFiles.H_RELEASED, bit);
        arena.close();
    }
}
