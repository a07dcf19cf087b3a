package io.lakestream.log;

import io.lakestream.LakestreamException;

/** A step below the retention floor was asked for: its batch may already be reclaimed. */
public final class BelowFloorException extends LakestreamException {
    private final long step;
    private final long floor;

    public BelowFloorException(String stream, long step, long floor) {
        super("step " + step + " of " + stream + " is below the retention floor " + floor
                + " (the oldest retained checkpoint); restore from a checkpoint at or above step " + floor, stream);
        this.step = step;
        this.floor = floor;
    }

    public long step() {
        return step;
    }

    public long floor() {
        return floor;
    }
}
