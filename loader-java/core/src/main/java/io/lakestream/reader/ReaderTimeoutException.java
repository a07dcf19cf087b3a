package io.lakestream.reader;

import io.lakestream.LakestreamException;

/** The next step was not committed (or not fetched) within the caller's timeout. */
public final class ReaderTimeoutException extends LakestreamException {
    private final long step;
    private final long timeoutMillis;

    public ReaderTimeoutException(String stream, long step, long millis) {
        super("step " + step + " of " + stream + " was not committed within " + millis + " ms", stream);
        this.step = step;
        this.timeoutMillis = millis;
    }

    public long step() {
        return step;
    }

    public long timeoutMillis() {
        return timeoutMillis;
    }
}
