package io.lakestream.log;

import java.util.List;
import java.util.Map;

/**
 * The full log state as of {@code version}, {@code _log/<version>.snapshot.json}. The step index
 * lives in immutable segments it references, so the snapshot holds a short segment list rather
 * than every TGB.
 */
public record Snapshot(int formatVersion, long version, long committedSteps, Map<String, ProducerState> producers,
                       List<IndexSegment> segments, List<CheckpointRecord> checkpoints, long reclaimedBelowStep) {
    public Snapshot {
        producers = producers == null ? Map.of() : producers;
        segments = segments == null ? List.of() : segments;
        checkpoints = checkpoints == null ? List.of() : checkpoints;
    }

    /** Steps [firstStep, firstStep + steps) are listed in the segment object {@code key}. */
    public record IndexSegment(long firstStep, long steps, String key) {}

    /** Contents of one segment object. */
    public record SegmentFile(long firstStep, List<TgbEntry> tgbs) {}

    /** {@code _log/_last_snapshot}: a best-effort hint to the newest snapshot. */
    public record Hint(long version) {}
}
