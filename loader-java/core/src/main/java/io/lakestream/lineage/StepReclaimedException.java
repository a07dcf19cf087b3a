package io.lakestream.lineage;

import io.lakestream.LakestreamException;

/** Lineage of a step whose batch (and log entries) GC already reclaimed was asked for. */
public final class StepReclaimedException extends LakestreamException {
    private final long step;
    private final long reclaimedBelow;
    private final long floor;

    public StepReclaimedException(String stream, long step, long reclaimedBelow, long floor) {
        super("step " + step + " of " + stream + " was reclaimed by GC (batches below step " + reclaimedBelow
                + " are deleted; retention floor " + floor + "): its lineage is no longer available; steps from "
                + reclaimedBelow + " on still are", stream);
        this.step = step;
        this.reclaimedBelow = reclaimedBelow;
        this.floor = floor;
    }

    public long step() {
        return step;
    }

    /** The first step whose lineage is still available. */
    public long reclaimedBelow() {
        return reclaimedBelow;
    }

    public long floor() {
        return floor;
    }
}
