package io.lakestream.reader;

/** The next step was not committed within the caller's timeout. */
public final class ReaderTimeoutException extends RuntimeException {
    private final long step;

    public ReaderTimeoutException(String stream, long step, long millis) {
        super("step " + step + " of " + stream + " was not committed within " + millis + " ms");
        this.step = step;
    }

    public long step() {
        return step;
    }
}
