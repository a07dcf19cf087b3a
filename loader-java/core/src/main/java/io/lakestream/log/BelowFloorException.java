package io.lakestream.log;

import io.lakestream.LakestreamException;

/** A step below the retention floor was asked for: its batch may already be reclaimed. */
public final class BelowFloorException extends LakestreamException {
    private final long step;
    private final long floor;

    public BelowFloorException(String stream, long step, long floor) {
        this("step " + step + " of " + stream + " is below the retention floor " + floor
                + " (the lowest step a consumer's retained checkpoint holds); start at or above step " + floor
                + ", or register a second run as a consumer before GC reclaims its start step", stream, step, floor);
    }

    private BelowFloorException(String message, String stream, long step, long floor) {
        super(message, stream);
        this.step = step;
        this.floor = floor;
    }

    /**
     * A consumer asked to start at {@code step}, whose batches GC has already reclaimed:
     * {@code readableFrom} (its {@link #floor()}) is the lowest step still readable.
     */
    public static BelowFloorException reclaimed(String stream, String consumer, long step, long readableFrom) {
        return new BelowFloorException("cannot register consumer '" + consumer + "' at step " + step + " of " + stream
                + ": GC reclaimed the batches of every step below " + readableFrom + "; the lowest step still readable is "
                + readableFrom + " (register at step " + readableFrom + " or later)", stream, step, readableFrom);
    }

    public long step() {
        return step;
    }

    /** The lowest step still readable (the floor; for {@link #reclaimed}, the first step GC has not reclaimed). */
    public long floor() {
        return floor;
    }
}
