package io.lakestream.retention;

import io.lakestream.LakestreamException;

/**
 * A checkpoint was asked for at a step beyond the committed steps (a checkpoint names the next
 * step to consume, so at most the committed count). Typed, with the count it was refused
 * against, so that a caller that records through {@code Lakestream.recordCheckpoint} (one
 * refresh of the log, in the commit) can say how many steps were committed without refreshing
 * the log itself first. A {@link LakestreamException}, as every outcome a user can meet is
 * (the stream moved on, or the trainer counted wrong: the log decides, not the argument alone).
 */
public final class StepNotCommittedException extends LakestreamException {
    private final long step;
    private final long committedSteps;

    StepNotCommittedException(String message, String stream, long step, long committedSteps) {
        super(message, stream);
        this.step = step;
        this.committedSteps = committedSteps;
    }

    /** The step asked for. */
    public long step() {
        return step;
    }

    /** The committed steps of the log state the checkpoint was refused against. */
    public long committedSteps() {
        return committedSteps;
    }
}
