package io.lakestream.reader;

import io.lakestream.metrics.Counter;
import io.lakestream.metrics.FlightEvents;
import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Histogram;
import io.lakestream.metrics.Metrics;
import java.util.concurrent.atomic.AtomicLong;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/**
 * What readers record (kept out of {@link RankReader} and {@link SharedFollower}: one call each
 * there). The data-stall share is the part of the training loop's time spent inside
 * {@link RankReader#next}: wait time over the wall time from the first call to the latest return.
 */
final class ReaderMetrics {
    static final Histogram WAIT_SECONDS = Metrics.global().histogram("lakestream_reader_wait_seconds",
            "Time a consumer spent in next() until its step's batch was there");
    static final Counter BYTES = Metrics.global().counter("lakestream_reader_bytes_total",
            "Bytes of batch data delivered to consumers (as stored: compressed if the stream is)");
    static final Counter STEPS = Metrics.global().counter("lakestream_reader_steps_total",
            "Steps delivered to consumers");
    static final Counter LOG_POLLS = Metrics.global().counter("lakestream_follower_log_polls_total",
            "Log reads (GETs of versions, the rare LIST) of this process's shared log followers");
    private static final AtomicLong FIRST_CALL = new AtomicLong(Long.MIN_VALUE);
    private static volatile long lastReturn = Long.MIN_VALUE;
    static final Gauge STALL = Metrics.global().gauge("lakestream_reader_data_stall_ratio",
            "Share of wall time (first next() to latest return) consumers spent waiting in next()", ReaderMetrics::stallShare);

    private ReaderMetrics() {}

    /** A step delivered by {@code next()}, which was called at {@code calledNanos} ({@link System#nanoTime()}). */
    static void delivered(long calledNanos, StepBatch b) {
        if (!Metrics.ENABLED) {
            return;
        }
        long now = System.nanoTime();
        long waited = now - calledNanos;
        if (FIRST_CALL.get() == Long.MIN_VALUE) {
            FIRST_CALL.compareAndSet(Long.MIN_VALUE, calledNanos);
        }
        lastReturn = now;
        WAIT_SECONDS.recordNanos(waited);
        STEPS.inc();
        BYTES.add(b.bytesFetched());
        ReaderWaitEvent e = new ReaderWaitEvent();
        if (e.shouldCommit()) {
            e.step = b.step();
            e.rank = b.rank();
            e.waited = waited;
            e.commit();
        }
    }

    static void logPolls(long n) {
        if (!Metrics.ENABLED) {
            return;
        }
        LOG_POLLS.add(n);
    }

    static double stallShare() {
        long first = FIRST_CALL.get();
        long last = lastReturn;
        if (first == Long.MIN_VALUE || last == Long.MIN_VALUE || last - first <= 0) {
            return 0;
        }
        return Math.min(1.0, WAIT_SECONDS.sumSeconds() * 1e9 / (last - first));
    }

    private static final EventType FOLLOWER_NEWS = EventType.getEventType(FollowerNewsEvent.class);
    private static final EventType SHARD_FETCH = EventType.getEventType(ShardFetchEvent.class);

    /** A shared follower's look at the log found the steps {@code [fromStep, toStep)} committed. */
    static void followerNews(long fromStep, long toStep, long versions) {
        if (!Metrics.ENABLED || !FOLLOWER_NEWS.isEnabled()) {
            return;
        }
        FollowerNewsEvent e = new FollowerNewsEvent();
        e.fromStep = fromStep;
        e.toStep = toStep;
        e.versions = versions;
        e.commit();
    }

    /** A fetch's event, begun, or null when no recording asks for it (nothing allocated then). */
    static ShardFetchEvent fetchBegin() {
        return FlightEvents.begin(SHARD_FETCH, ShardFetchEvent::new);
    }

    static void fetched(ShardFetchEvent e, long step, int rank, StepBatch b) {
        if (e == null) {
            return;
        }
        e.end();
        if (e.shouldCommit()) {
            e.step = step;
            e.rank = rank;
            e.bytes = b == null ? -1 : b.bytesFetched();
            e.commit();
        }
    }

    /**
     * A shared follower learned of newly committed steps, for JDK Flight Recorder ({@code jfr
     * print --events io.lakestream.FollowerNews}); the event's time is when the steps became
     * known to this process's readers.
     */
    @Name("io.lakestream.FollowerNews")
    @Label("Lakestream follower news")
    @Category("Lakestream")
    @Description("A shared log follower's look at the log that found newly committed steps")
    static final class FollowerNewsEvent extends Event {
        @Label("From step")
        long fromStep;
        @Label("To step (exclusive)")
        long toStep;
        @Label("Versions")
        long versions;
    }

    /** One rank's fetch of one step's shard (into pool memory, checked), for JDK Flight Recorder. */
    @Name("io.lakestream.ShardFetch")
    @Label("Lakestream shard fetch")
    @Category("Lakestream")
    @Description("One rank's fetch of its shard of one step, by a prefetch thread")
    static final class ShardFetchEvent extends Event {
        @Label("Step")
        long step;
        @Label("Rank")
        int rank;
        @Label("Bytes (-1: failed)")
        long bytes;
    }

    /** A consumer's wait for one step, for JDK Flight Recorder ({@code jfr print --events io.lakestream.ReaderWait}). */
    @Name("io.lakestream.ReaderWait")
    @Label("Lakestream reader wait")
    @Category("Lakestream")
    @Description("Time a consumer waited in next() for one step's batch")
    static final class ReaderWaitEvent extends Event {
        @Label("Step")
        long step;
        @Label("Rank")
        int rank;
        @Label("Waited")
        @Timespan(Timespan.NANOSECONDS)
        long waited;
    }
}
