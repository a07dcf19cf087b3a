package io.lakestream.producer;

import io.lakestream.log.TgbEntry;

/** A batch appended and not committed yet: its manifest entry, when it was appended, and its object write's state (guarded by the queue's lock). */
final class QueuedBatch {
    final TgbEntry entry;
    final long appendedNanos;
    boolean written;
    Throwable writeFailure;
    boolean nameSynced;

    QueuedBatch(TgbEntry entry, long appendedNanos) {
        this.entry = entry;
        this.appendedNanos = appendedNanos;
    }

    long seq() {
        return entry.seq();
    }
}
