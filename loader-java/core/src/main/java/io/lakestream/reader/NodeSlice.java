package io.lakestream.reader;

import io.lakestream.store.FileMapping;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One rank's shard of one step, read in place from its node's step file (see {@link NodeSlices}):
 * a copy-on-write mapping of the shard's bytes (a rank that writes into its tensors changes its own
 * pages only) and a shared mapping of the file's header. Closing it sets the rank's bit of the
 * release word and unmaps both; the fetcher removes the file once every bit is set.
 *
 * <p>Checked, the mappings are an arena's (a view used after the close throws; closing the arena
 * is a handshake with every JVM thread); unchecked, they are {@link FileMapping}s (no handshake;
 * a view used after the close reads unmapped memory), as the reader's
 * {@link ReaderOptions#checkedViews()} says.
 */
public final class NodeSlice implements AutoCloseable {
    private final Arena arena; // null: unchecked
    private final FileMapping headerMapping; // null: checked
    private final FileMapping dataMapping; // null: checked
    private final MemorySegment header;
    private final MemorySegment data;
    private final long bit;
    private boolean closed;

    NodeSlice(Arena arena, MemorySegment header, MemorySegment data, int localRank) {
        this.arena = arena;
        this.headerMapping = null;
        this.dataMapping = null;
        this.header = header;
        this.data = data;
        this.bit = 1L << localRank;
    }

    /** Unchecked: the slice owns both mappings and unmaps them on close. */
    NodeSlice(FileMapping header, FileMapping data, int localRank) {
        this.arena = null;
        this.headerMapping = header;
        this.dataMapping = data;
        this.header = header.segment();
        this.data = data.segment();
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
        if (arena != null) {
            arena.close();
        } else {
            dataMapping.close();
            headerMapping.close();
        }
    }
}
