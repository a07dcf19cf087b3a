package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestState;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ObjectStore;

/** The default feed: a subscription to the process's {@link SharedFollower} of the stream. */
final class FollowerFeed implements StepFeed {
    private final SharedFollower.Subscription sub;

    FollowerFeed(SharedFollower.Subscription sub) {
        this.sub = sub;
    }

    /**
     * Subscribes a reader of {@code worldSize} ranks starting at {@code startStep} to the process's
     * follower of {@code store}'s stream, checking the world size (unless {@code elastic}), then
     * that the start step is not below the retention floor; the subscription is closed if a check fails.
     */
    static FollowerFeed open(ObjectStore store, StreamEnv env, int worldSize, long startStep, ReaderOptions options,
                             boolean elastic) {
        SharedFollower.Subscription sub = SharedFollower.subscribe(store, env, startStep, options);
        try {
            FollowerFeed feed = new FollowerFeed(sub);
            RankReader.checkWorldSize(store, worldSize, elastic, feed); // before the floor, as always
            ManifestState st = sub.log().state();
            if (startStep < st.floorStep() || startStep < st.reclaimedBelowStep()) {
                throw new BelowFloorException(store.describe(), startStep, Math.max(st.floorStep(), st.reclaimedBelowStep()));
            }
            return feed;
        } catch (RuntimeException | Error e) {
            sub.close();
            throw e;
        }
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
