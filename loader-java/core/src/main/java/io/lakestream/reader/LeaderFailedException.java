package io.lakestream.reader;

import io.lakestream.LakestreamException;

/**
 * The job's leader rank, which follows the log for the others, reported a failure (its store,
 * its follower) instead of the next step's entry: this rank cannot learn further steps.
 */
public final class LeaderFailedException extends LakestreamException {
    public LeaderFailedException(String stream, String leaderError) {
        super("stream " + stream + ": the job's leader rank failed to follow the log: " + leaderError, stream);
    }
}
