package io.lakestream.retention;

/**
 * A checkpoint was asked for at a step beyond the committed steps (a checkpoint names the next
 * step to consume, so at most the committed count). A bad argument, hence an
 * {@link IllegalArgumentException}; typed, with the count it was refused against, so that a
 * caller that records through {@code Lakestream.recordCheckpoint} (one refresh of the log, in the
 * commit) can say how many steps were committed without refreshing the log itself first.
 */
public final class StepNotCommittedException extends IllegalArgumentException {
    private final long step;
    private final long committedSteps;

    StepNotCommittedException(String message, long step, long committedSteps) {
        super(message);
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
