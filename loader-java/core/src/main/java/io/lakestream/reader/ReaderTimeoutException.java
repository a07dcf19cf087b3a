package io.lakestream.reader;

import io.lakestream.LakestreamException;

/**
 * The next step did not arrive within the caller's timeout. Either it is not committed yet
 * ({@link #committed()} false: producers are slow or done), or it is committed but its fetch did
 * not finish in time (true: a slow or failing store). A step that cannot be fetched because the
 * consumer holds every pool slab is a {@link PoolExhaustedException} instead.
 */
public final class ReaderTimeoutException extends LakestreamException {
    private final long step;
    private final long timeoutMillis;
    private final boolean committed;

    public ReaderTimeoutException(String stream, long step, long millis) {
        this(stream, step, millis, false);
    }

    public ReaderTimeoutException(String stream, long step, long millis, boolean committed) {
        super(committed
                ? "step " + step + " of " + stream + " is committed but its fetch did not finish within " + millis
                  + " ms (slow or failing store?)"
                : "step " + step + " of " + stream + " was not committed within " + millis + " ms", stream);
        this.step = step;
        this.timeoutMillis = millis;
        this.committed = committed;
    }

    public long step() {
        return step;
    }

    /** Whether the step was already committed (its fetch was slow), rather than not committed yet. */
    public boolean committed() {
        return committed;
    }

    public long timeoutMillis() {
        return timeoutMillis;
    }
}
