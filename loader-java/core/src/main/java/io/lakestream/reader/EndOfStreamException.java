package io.lakestream.reader;

import io.lakestream.LakestreamException;

/**
 * The reader reached the end of a closed stream: an end-of-stream record is in the log and
 * every step before it was delivered. No later step will ever be committed, so this is reported
 * at once instead of after a timeout. The reader stays at its position and keeps reporting it.
 */
public final class EndOfStreamException extends LakestreamException {
    private final long endStep;

    public EndOfStreamException(String stream, long endStep, long step) {
        super("stream " + stream + " ended at step " + endStep + (step > endStep ? "; step " + step + " lies beyond its end"
                : ": all its steps were read"), stream);
        this.endStep = endStep;
    }

    /** As above, with what the end means to the caller appended (e.g. an adapter's epoch). */
    public EndOfStreamException(String stream, long endStep, long step, String detail) {
        super("stream " + stream + " ended at step " + endStep + (step > endStep ? "; step " + step + " lies beyond its end"
                : ": all its steps were read") + "; " + detail, stream);
        this.endStep = endStep;
    }

    /** The number of steps the stream holds. */
    public long endStep() {
        return endStep;
    }
}
