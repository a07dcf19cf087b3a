package io.lakestream.log;

import io.lakestream.LakestreamException;

/**
 * A commit kept losing races to other committers (or kept finding the log's head unconfirmed)
 * until its deadline ({@code lakestream.commit.timeout.ms}, 120 s by default). Unlike
 * {@link CommitStateUnknownException} the outcome is known: the deadline is only checked after an
 * attempt that definitely did not land, so nothing of this commit is in the log and the caller may
 * simply try again (usually with larger groups, fewer committers, or a store that answers).
 */
public final class CommitTimeoutException extends LakestreamException {
    private final String committer;
    private final long timeoutMillis;
    private final int conflicts;
    private final String key;

    public CommitTimeoutException(String stream, String committer, long timeoutMillis, int conflicts, String key) {
        super("commit by " + committer + " to " + stream + " did not succeed within " + timeoutMillis + " ms (" + conflicts
                + " races lost to other committers; last version tried " + key + "): nothing of it was committed, try again",
                stream);
        this.committer = committer;
        this.timeoutMillis = timeoutMillis;
        this.conflicts = conflicts;
        this.key = key;
    }

    /** Who committed (a producer id, {@code checkpoint}, {@code gc}, …). */
    public String committer() {
        return committer;
    }

    public long timeoutMillis() {
        return timeoutMillis;
    }

    /** Races lost to other committers before the deadline. */
    public int conflicts() {
        return conflicts;
    }

    /** The version file the last attempt was about. */
    public String key() {
        return key;
    }
}
