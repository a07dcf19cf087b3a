package io.lakestream.log;

import io.lakestream.LakestreamException;

/** A step below the retention floor was asked for: its batch may already be reclaimed. */
public final class BelowFloorException extends LakestreamException {
    private final long step;
    private final long floor;

    public BelowFloorException(String stream, long step, long floor) {
        super("step " + step + " of " + stream + " is below the retention floor " + floor
                + " (the lowest step a consumer's retained checkpoint holds); start at or above step " + floor
                + ", or register a second run as a consumer before the floor passes its start step", stream);
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
