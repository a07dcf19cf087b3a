package io.lakestream.log;

import io.lakestream.store.ObjectStore;

/**
 * Closes a stream: commits the stream-wide end-of-stream record. Afterwards the stream holds
 * exactly the steps committed before it; readers that reach the end learn it at once (instead
 * of waiting for a step that will never come), and every later commit of batches is refused
 * with {@link StreamClosedException}. Checkpoint and GC records are still accepted.
 *
 * <p>Whoever knows that no producer will add data closes the stream: the pipeline's driver once
 * every producer finished ({@code lakestream close}), or a single producer when its source is
 * exhausted ({@code lakestream produce --close-when-done}). Closing is final and idempotent.
 */
public final class StreamEnd {
    private StreamEnd() {}

    /** Opens the stream at {@code store} and closes it. */
    public static CommitResult close(ObjectStore store) {
        return close(ManifestLog.open(store));
    }

    /**
     * Commits the end-of-stream record. If the stream is already closed nothing is committed and
     * the result says so ({@code committed() == false}); {@code state().endStep()} is the end.
     */
    public static CommitResult close(ManifestLog log) {
        return log.commit("close", s -> s.ended() ? Changes.NONE : Changes.closing());
    }
}
