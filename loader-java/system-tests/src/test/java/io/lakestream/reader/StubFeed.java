package io.lakestream.reader;

import io.lakestream.log.TgbEntry;

/**
 * A {@link StepFeed} for tests that hand a reader a feed of their own making: a stream of
 * {@code worldSize} ranks with nothing committed, no end, no polls; a test overrides what its
 * case needs (committed steps, a failing wait, entries, a counted close).
 */
class StubFeed implements StepFeed {
    private final int worldSize;

    StubFeed(int worldSize) {
        this.worldSize = worldSize;
    }

    @Override
    public int streamWorldSize() {
        return worldSize;
    }

    @Override
    public long committedSteps() {
        return 0;
    }

    @Override
    public long endStep() {
        return -1;
    }

    @Override
    public void await(long step, long maxWaitNanos) throws InterruptedException {}

    @Override
    public TgbEntry entry(long step) {
        throw new IllegalStateException("not committed: " + step);
    }

    @Override
    public void position(long step) {}

    @Override
    public long polls() {
        return 0;
    }

    @Override
    public void close() {}
}
