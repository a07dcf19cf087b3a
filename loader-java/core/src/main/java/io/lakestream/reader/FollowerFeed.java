package io.lakestream.reader;

import io.lakestream.log.ManifestState;
import io.lakestream.log.TgbEntry;

/** The default feed: a subscription to the process's {@link SharedFollower} of the stream. */
final class FollowerFeed implements StepFeed {
    private final SharedFollower.Subscription sub;

    FollowerFeed(SharedFollower.Subscription sub) {
        this.sub = sub;
    }

    SharedFollower.Subscription subscription() {
        return sub;
    }

    @Override
    public int streamWorldSize() {
        return sub.log().config().worldSize();
    }

    @Override
    public long committedSteps() {
        return sub.log().state().committedSteps();
    }

    @Override
    public long endStep() {
        ManifestState s = sub.log().state();
        return s.ended() ? s.endStep() : -1;
    }

    @Override
    public void await(long step, long maxWaitNanos) throws InterruptedException {
        sub.await(step, maxWaitNanos);
    }

    @Override
    public TgbEntry entry(long step) {
        return sub.entry(step);
    }

    @Override
    public void position(long step) {
        sub.position(step);
    }

    @Override
    public long polls() {
        return sub.follower().polls();
    }

    @Override
    public void close() {
        sub.close();
    }
}
