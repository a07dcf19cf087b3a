package io.lakestream.log;

import io.lakestream.LakestreamException;

/**
 * The stream was closed (an end-of-stream record is in its log): no step can be added to it any
 * more. Thrown to a committer of batches, and to a producer that tries to start on it.
 */
public final class StreamClosedException extends LakestreamException {
    private final long endStep;

    public StreamClosedException(String stream, long endStep, String detail) {
        super("stream " + stream + " is closed: it ended at step " + endStep + " (an end-of-stream record is in its log), "
                + detail, stream);
        this.endStep = endStep;
    }


    /** The number of steps the stream holds; no step at or above it will ever be committed. */
    public long endStep() {
        return endStep;
    }
}
