package io.lakestream.reader;

import io.lakestream.log.TgbEntry;

/**
 * Where a {@link RankReader} learns which steps are committed and their entries: from a
 * follower of the log ({@link SharedFollower}, its handle's or its own; the default) or from a hand-off fed by
 * the job's leader rank ({@link HandoffFeed}). Either way the reader verifies every byte it
 * reads against the entry, so a feed decides what is read, never what is delivered unchecked.
 */
public interface StepFeed extends AutoCloseable {
    /** The world size the stream was written for (the entries' shard count). */
    int streamWorldSize();

    /** Steps known to be committed (steps {@code 0 .. committedSteps() - 1}). */
    long committedSteps();

    /** The step the stream ended at if it is known to be closed, else -1. */
    long endStep();

    /**
     * Waits at most {@code maxWaitNanos} until step {@code step} is known committed or the
     * stream ended (returns early otherwise; callers re-check).
     *
     * @throws RuntimeException the feed's source failed (a store failure that outlived the
     *                          retries, a leader that reported an error)
     */
    void await(long step, long maxWaitNanos) throws InterruptedException;

    /** The entry of committed step {@code step}. */
    TgbEntry entry(long step);

    /** The reader will not ask for steps below {@code step} again (their entries may be dropped). */
    void position(long step);

    /** Log reads this feed caused (a follower's polls; 0 for a hand-off). */
    long polls();

    @Override
    void close();
}
