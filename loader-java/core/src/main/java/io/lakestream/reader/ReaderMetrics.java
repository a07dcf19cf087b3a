package io.lakestream.reader;

import io.lakestream.metrics.Counter;
import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Histogram;
import io.lakestream.metrics.Metrics;
import java.util.concurrent.atomic.AtomicLong;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
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
