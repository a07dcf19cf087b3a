package io.lakestream.log;

import java.util.List;
import java.util.Map;

/**
 * What a committer wants the next version to carry. Built by a commit's prepare function.
 *
 * @param endOfStream whether the version closes the stream (see {@link StreamEnd})
 */
public record Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                      Long reclaimedBelowStep, boolean endOfStream) {
    public static final Changes NONE = new Changes(Map.of(), List.of(), List.of(), null, false);

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints) {
        this(producers, tgbs, checkpoints, null, false);
    }

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                   Long reclaimedBelowStep) {
        this(producers, tgbs, checkpoints, reclaimedBelowStep, false);
    }

    public Changes {
        producers = producers == null ? Map.of() : Map.copyOf(producers);
        tgbs = tgbs == null ? List.of() : List.copyOf(tgbs);
        checkpoints = checkpoints == null ? List.of() : List.copyOf(checkpoints);
    }

    /** A version that only records the end of the stream (closes it). */
    public static Changes closing() {
        return new Changes(Map.of(), List.of(), List.of(), null, true);
    }

    public boolean isEmpty() {
        return producers.isEmpty() && tgbs.isEmpty() && checkpoints.isEmpty() && reclaimedBelowStep == null && !endOfStream;
    }
}
