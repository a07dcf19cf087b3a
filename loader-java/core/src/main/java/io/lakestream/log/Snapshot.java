package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import java.util.List;
import java.util.Map;

/**
 * The full log state as of {@code version}, {@code _log/<version>.snapshot.json}. Its size is
 * bounded: TGBs of steps below {@code indexedSteps} live in index segments
 * ({@code _index/<first step>.json}, at most {@code index_segment_steps} steps and, in format
 * version 2, at most {@code index_segment_bytes} of entries each); only the TGBs of steps
 * [indexedSteps, committedSteps) are inline, fewer than one segment's worth.
 *
 * <p>Required on the store (docs/format.md §6): {@code format_version}, {@code version},
 * {@code committed_steps}, {@code indexed_steps}, {@code producers}, {@code tail},
 * {@code checkpoints} and {@code reclaimed_below_step}, none of them null; a snapshot missing one
 * fails to parse and is skipped, never used with defaults (a missing {@code checkpoints} read as
 * none would be floor 0, serving steps GC deleted).
 *
 * @param endedAtStep the step the stream ended at, if an end-of-stream record was committed at
 *                    or before {@code version} (null: not ended, and not written)
 * @param controls    the control records in force (omitted when none)
 * @param indexSplits format version 2: first steps of the index segments below {@code indexedSteps}
 *                    that do not start at a multiple of {@code index_segment_steps} (a segment
 *                    closed early by the byte bound), ascending; those of segments wholly below
 *                    {@code reclaimedBelowStep} may be left out (omitted when none)
 */
public record Snapshot(int formatVersion, long version, long committedSteps,
                       @JsonSetter(nulls = Nulls.FAIL) Map<String, ProducerState> producers,
                       long indexedSteps, @JsonSetter(nulls = Nulls.FAIL) List<TgbEntry> tail,
                       @JsonSetter(nulls = Nulls.FAIL) List<CheckpointRecord> checkpoints, long reclaimedBelowStep,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Long endedAtStep,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ControlRecord> controls,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Long> indexSplits) {
    public Snapshot {
        producers = producers == null ? Map.of() : producers;
        tail = tail == null ? List.of() : tail;
        checkpoints = checkpoints == null ? List.of() : checkpoints;
        controls = controls == null ? List.of() : controls;
        indexSplits = indexSplits == null ? List.of() : indexSplits;
    }

    /** A snapshot whose index segments all start at multiples of {@code index_segment_steps}. */
    public Snapshot(int formatVersion, long version, long committedSteps, Map<String, ProducerState> producers,
                    long indexedSteps, List<TgbEntry> tail, List<CheckpointRecord> checkpoints, long reclaimedBelowStep,
                    Long endedAtStep, List<ControlRecord> controls) {
        this(formatVersion, version, committedSteps, producers, indexedSteps, tail, checkpoints, reclaimedBelowStep, endedAtStep,
                controls, null);
    }

    /** A snapshot of a stream that has not ended. */
    public Snapshot(int formatVersion, long version, long committedSteps, Map<String, ProducerState> producers,
                    long indexedSteps, List<TgbEntry> tail, List<CheckpointRecord> checkpoints, long reclaimedBelowStep) {
        this(formatVersion, version, committedSteps, producers, indexedSteps, tail, checkpoints, reclaimedBelowStep, null, null, null);
    }

    /** Contents of one index segment object. */
    public record SegmentFile(long firstStep, List<TgbEntry> tgbs) {}

    /** {@code _log/_last_snapshot}: a best-effort hint to the newest snapshot. */
    public record Hint(long version) {}
}
