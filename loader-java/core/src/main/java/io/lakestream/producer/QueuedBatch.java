package io.lakestream.producer;

import io.lakestream.log.TgbEntry;

/**
 * A batch appended and not committed yet: its manifest entry, when it was appended, and its
 * object write's state (guarded by the queue's lock). Threaded, it is also the writer pool's task
 * for its object (the encoded bytes and their buffer, held until written), so handing a batch to
 * a writer allocates no task of its own.
 */
final class QueuedBatch implements Runnable {
    final TgbEntry entry;
    final long appendedNanos;
    boolean written;
    Throwable writeFailure;
    boolean nameSynced;
    // the write task's state, set by BatchWriter#submit and cleared by the writer that runs it
    private BatchWriter writer;
    private EncodeBuffers.Buffer buffer;
    private java.lang.foreign.MemorySegment object;

    QueuedBatch(TgbEntry entry, long appendedNanos) {
        this.entry = entry;
        this.appendedNanos = appendedNanos;
    }

    long seq() {
        return entry.seq();
    }

    /** Makes this batch the write task of {@code w} for {@code object}, encoded in {@code buf}. */
    void toWrite(BatchWriter w, EncodeBuffers.Buffer buf, java.lang.foreign.MemorySegment obj) {
        writer = w;
        buffer = buf;
        object = obj;
    }

    @Override
    public void run() {
        BatchWriter w = writer;
        EncodeBuffers.Buffer buf = buffer;
        java.lang.foreign.MemorySegment obj = object;
        writer = null;
        buffer = null;
        object = null;
        w.writeAsync(this, buf, obj);
    }
}
