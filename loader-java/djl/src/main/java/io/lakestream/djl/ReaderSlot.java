package io.lakestream.djl;

import io.lakestream.reader.RankReader;
import io.lakestream.reader.StepBatch;
import java.util.function.Supplier;

/**
 * What one dataset iterator owns: its reader (threads and a pool of off-heap slabs) and the
 * batch fetched by {@code hasNext()} but not yet handed out. Kept apart from the iterator so
 * that a {@link java.lang.ref.Cleaner} can close it when the iterator is dropped, and so that
 * the dataset can close it when a newer iterator takes over or the dataset is closed.
 */
final class ReaderSlot implements Runnable {
    private RankReader reader;
    private StepBatch pending;
    private String closedBecause;

    /** The reader, opened on first use. */
    synchronized RankReader reader(Supplier<RankReader> open) {
        checkOpen();
        if (reader == null) {
            reader = open.get();
        }
        return reader;
    }

    synchronized boolean hasPending() {
        return pending != null;
    }

    /** Keeps {@code b} until {@link #take}; false (and the caller closes b) if the slot was closed meanwhile. */
    synchronized boolean hold(StepBatch b) {
        if (closedBecause != null) {
            return false;
        }
        pending = b;
        return true;
    }

    synchronized StepBatch take() {
        StepBatch b = pending;
        pending = null;
        return b;
    }

    synchronized boolean isClosed() {
        return closedBecause != null;
    }

    synchronized void checkOpen() {
        if (closedBecause != null) {
            throw new IllegalStateException(closedBecause);
        }
    }

    /** Closes the pending batch and the reader; the first reason given is the one reported. */
    void close(String why) {
        RankReader r;
        StepBatch p;
        synchronized (this) {
            if (closedBecause == null) {
                closedBecause = why;
            }
            r = reader;
            reader = null;
            p = pending;
            pending = null;
        }
        if (p != null) {
            p.close();
        }
        if (r != null) {
            r.close();
        }
    }

    /** The cleaner's action: the iterator became unreachable before its end. */
    @Override
    public void run() {
        close("this iterator was dropped before its end and its reader was released");
    }
}
