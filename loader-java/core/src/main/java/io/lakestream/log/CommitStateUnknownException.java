package io.lakestream.log;

/**
 * The commit may or may not have happened: the write's confirmation was lost and reading the
 * version back failed too. Never guess and never clean up after this: the caller re-opens (or
 * refreshes) the log and looks at its producer state, which says exactly what was committed.
 */
public final class CommitStateUnknownException extends RuntimeException {
    public CommitStateUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
