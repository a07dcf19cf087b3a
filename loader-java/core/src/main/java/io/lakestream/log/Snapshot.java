package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * The full log state as of {@code version}, {@code _log/<version>.snapshot.json}. Its size is
 * bounded: TGBs of steps below {@code indexedSteps} live in fixed-size index segments
 * ({@code _index/<first step>.json}, {@code index_segment_steps} steps each); only the TGBs of
 * steps [indexedSteps, committedSteps) are inline, fewer than one segment's worth.
 */
public record Snapshot(int formatVersion, long version, long committedSteps, Map<String, ProducerState> producers,
                       long indexedSteps, List<TgbEntry> tail, List<CheckpointRecord> checkpoints, long reclaimedBelowStep,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ControlRecord> controls) {
    public Snapshot {
        producers = producers == null ? Map.of() : producers;
        tail = tail == null ? List.of() : tail;
        checkpoints = checkpoints == null ? List.of() : checkpoints;
        controls = controls == null ? List.of() : controls;
    }

    /** Contents of one index segment object. */
    public record SegmentFile(long firstStep, List<TgbEntry> tgbs) {}

    /** {@code _log/_last_snapshot}: a best-effort hint to the newest snapshot. */
    public record Hint(long version) {}
}
