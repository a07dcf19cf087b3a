package io.lakestream;

/**
 * Base of every domain outcome Lakestream reports: a stream that does not exist, a world size
 * that does not match, a fenced producer, a step below the retention floor, a commit whose
 * outcome is unknown, corrupt or malformed data, a step that did not arrive in time, a store
 * failure, … Unchecked. Each subclass carries what it concerns (stream, step, rank, key) as
 * fields and names it in the message. Programmer errors (bad arguments) stay
 * {@link IllegalArgumentException}s; misuse of a closed object stays {@link IllegalStateException}.
 */
public class LakestreamException extends RuntimeException {
    private final String stream;

    public LakestreamException(String message, String stream, Throwable cause) {
        super(message, cause);
        this.stream = stream;
    }

    public LakestreamException(String message, String stream) {
        this(message, stream, null);
    }

    /** The stream (its store location, without secrets) this is about, or null if not known. */
    public String stream() {
        return stream;
    }
}
