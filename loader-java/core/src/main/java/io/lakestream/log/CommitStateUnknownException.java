package io.lakestream.log;

import io.lakestream.LakestreamException;

/**
 * The commit may or may not have happened: the write's confirmation was lost and reading the
 * version back failed too. Never guess and never clean up after this: the caller re-opens (or
 * refreshes) the log and looks at its producer state, which says exactly what was committed.
 */
public final class CommitStateUnknownException extends LakestreamException {
    private final String key;

    public CommitStateUnknownException(String message, Throwable cause) {
        this(message, null, null, cause);
    }

    /** About version file {@code key} of {@code stream}. */
    public CommitStateUnknownException(String message, String stream, String key, Throwable cause) {
        super(message, stream, cause);
        this.key = key;
    }

    /** The version file whose creation is in doubt, or null if not known. */
    public String key() {
        return key;
    }
}
