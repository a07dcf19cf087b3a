package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestState;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ObjectStore;

/**
 * The default feed: a subscription to a {@link SharedFollower}, either its handle's (shared with
 * the handle's other readers) or one of its own that it closes after the subscription.
 */
final class FollowerFeed implements StepFeed {
    private final FollowerSubscription sub;
    /** The follower this feed closes (a reader opened without a handle), or null (the handle's). */
    private final SharedFollower owned;

    private FollowerFeed(FollowerSubscription sub, SharedFollower owned) {
        this.sub = sub;
        this.owned = owned;
    }

    /**
     * A feed with a follower of its own of {@code store}'s stream (a reader opened without a
     * handle), for a reader of {@code worldSize} ranks starting at {@code startStep}; checked as
     * {@link #check}. The feed closes the follower; the caller keeps the store open until then.
     */
    static FollowerFeed open(ObjectStore store, StreamEnv env, int worldSize, long startStep, ReaderOptions options,
                             boolean elastic) {
        SharedFollower f = SharedFollower.start(store, env); // fresh: its load is the current log
        try {
            return check(f.subscribe(startStep, options), f, worldSize, startStep, elastic);
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    /**
     * A feed from {@code follower}, its owner's (a handle's), shared with the owner's other
     * readers; checked as {@link #check}. Closing the feed ends its subscription, never the follower.
     */
    static FollowerFeed shared(SharedFollower follower, int worldSize, long startStep, ReaderOptions options, boolean elastic) {
        return check(follower.join(startStep, options), null, worldSize, startStep, elastic);
    }

    /**
     * Checks the world size (unless {@code elastic}), then that the start step is not below the
     * retention floor; on failure closes the subscription (not {@code owned}: the caller does).
     */
    private static FollowerFeed check(FollowerSubscription sub, SharedFollower owned, int worldSize, long startStep,
                              boolean elastic) {
        try {
            FollowerFeed feed = new FollowerFeed(sub, owned);
            ObjectStore store = sub.follower().store();
            RankReader.checkWorldSize(store, worldSize, elastic, feed); // before the floor, as always
            sub.checkFloor(startStep);
            return feed;
        } catch (RuntimeException | Error e) {
            sub.close();
            throw e;
        }
    }

    FollowerSubscription subscription() {
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
        if (owned != null) {
            owned.close();
        }
    }
}
