package io.lakestream.producer;

import io.lakestream.log.CommitResult;
import io.lakestream.metrics.Counter;
import io.lakestream.metrics.FlightEvents;
import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Histogram;
import io.lakestream.metrics.Metrics;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** What the committer records about its commits (kept out of {@link Committer}: one call per commit there). */
final class ProducerMetrics {
    static final Histogram COMMIT_SECONDS = Metrics.global().histogram("lakestream_producer_commit_seconds",
            "Time from preparing a group commit to its version being written (lost races and their retries included)");
    static final Counter COMMITS = Metrics.global().counter("lakestream_producer_commits_total",
            "Versions committed by this process's producers");
    static final Counter CONFLICTS = Metrics.global().counter("lakestream_producer_commit_conflicts_total",
            "Commit attempts that lost the race for a log version to another committer");
    static final Counter BATCHES = Metrics.global().counter("lakestream_producer_batches_committed_total",
            "Global batches (steps) committed by this process's producers");
    static final Gauge LAG = Metrics.global().gauge("lakestream_producer_lag_steps",
            "Committed steps beyond the newest checkpoint, as of this process's last commit (flow control bounds it)");
    static final Counter FLOW_WAITS = Metrics.global().counter("lakestream_producer_flow_control_waits_total",
            "Times a producer backed off because the stream is max-lag steps ahead of the newest checkpoint");

    private ProducerMetrics() {}

    static void committed(String producer, CommitResult r, long nanos) {
        if (!Metrics.ENABLED) {
            return;
        }
        CONFLICTS.add(r.conflicts());
        LAG.set(r.state().lagSteps());
        if (!r.committed()) {
            return; // nothing to commit (all done, or flow control let no batch through): no commit to time
        }
        COMMIT_SECONDS.recordNanos(nanos);
        COMMITS.inc();
        BATCHES.add(r.tgbs());
        CommitEvent e = new CommitEvent();
        if (e.shouldCommit()) {
            e.producer = producer;
            e.version = r.version();
            e.firstStep = r.firstStep();
            e.batches = r.tgbs();
            e.conflicts = r.conflicts();
            e.latency = nanos;
            e.commit();
        }
    }

    /** A batch object write's event, begun, or null when no recording asks for it (nothing allocated then). */
    static BatchWriteEvent batchWriteBegin() {
        return FlightEvents.begin(BATCH_WRITE, BatchWriteEvent::new);
    }

    static void batchWritten(BatchWriteEvent e, String producer, long epoch, long seq, long bytes) {
        if (e == null) {
            return;
        }
        e.end();
        if (e.shouldCommit()) {
            e.producer = producer;
            e.epoch = epoch;
            e.seq = seq;
            e.bytes = bytes;
            e.commit();
        }
    }

    static void flowWait() {
        if (!Metrics.ENABLED) {
            return;
        }
        FLOW_WAITS.inc();
    }

    private static final EventType BATCH_WRITE = EventType.getEventType(BatchWriteEvent.class);

    /**
     * One batch object written and durable (put-if-absent with its fsync), for JDK Flight Recorder
     * ({@code jfr print --events io.lakestream.BatchWrite}): with {@link CommitEvent} and the
     * reader's events it splits a step's append→visible time into stages.
     */
    @Name("io.lakestream.BatchWrite")
    @Label("Lakestream batch object write")
    @Category("Lakestream")
    @Description("One batch object put and made durable by a producer's writer")
    static final class BatchWriteEvent extends Event {
        @Label("Producer")
        String producer;
        @Label("Epoch")
        long epoch;
        @Label("Sequence")
        long seq;
        @Label("Bytes")
        long bytes;
    }

    /** A producer's group commit, for JDK Flight Recorder ({@code jfr print --events io.lakestream.Commit}). */
    @Name("io.lakestream.Commit")
    @Label("Lakestream commit")
    @Category("Lakestream")
    @Description("One group commit of a producer: the version it won, its batches and the races it lost")
    static final class CommitEvent extends Event {
        @Label("Producer")
        String producer;
        @Label("Version")
        long version;
        @Label("First step")
        long firstStep;
        @Label("Batches")
        int batches;
        @Label("Conflicts")
        int conflicts;
        @Label("Latency")
        @Timespan(Timespan.NANOSECONDS)
        long latency;
    }
}
