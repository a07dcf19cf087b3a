package io.lakestream.reader;

import io.lakestream.LakestreamException;

/**
 * A rank found no usable copy of its node's byte range of a step (see {@link NodeFetch}): the
 * node's fetching process died or closed, did not publish the step within the wait, removed it
 * already, or its copy did not match this rank's manifest entry. Raised to the consumer only when
 * {@link NodeFetch#fallback()} is off; otherwise the rank reads its shard itself.
 */
public final class NodeFetchFailedException extends LakestreamException {
    private final long step;
    private final int rank;

    public NodeFetchFailedException(String stream, long step, int rank, String why) {
        super("stream " + stream + " step " + step + " rank " + rank + ": no copy from the node's fetcher: " + why, stream);
        this.step = step;
        this.rank = rank;
    }

    public long step() {
        return step;
    }

    public int rank() {
        return rank;
    }
}
