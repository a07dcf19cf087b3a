package io.lakestream.producer;

import io.lakestream.LakestreamException;

/**
 * A commit would leave a gap in a producer's sequence: the first batch it would add is not the
 * one right after the log's. The producer's own state disagrees with the log's; it must restart
 * from the committed cursor.
 */
public final class SequenceGapException extends LakestreamException {
    private final String producer;
    private final long committedSeq;
    private final long nextSeq;

    public SequenceGapException(String stream, String producer, long committedSeq, long nextSeq) {
        super("producer '" + producer + "' would leave a sequence gap on " + stream + ": log has seq " + committedSeq
                + ", next queued batch is seq " + nextSeq, stream);
        this.producer = producer;
        this.committedSeq = committedSeq;
        this.nextSeq = nextSeq;
    }

    public String producer() {
        return producer;
    }

    /** The producer's last committed sequence in the log. */
    public long committedSeq() {
        return committedSeq;
    }

    /** The sequence of the first batch the commit would have added. */
    public long nextSeq() {
        return nextSeq;
    }
}
