package io.lakestream.log;

import java.util.List;
import java.util.Map;

/** What a committer wants the next version to carry. Built by a commit's prepare function. */
public record Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                      Long reclaimedBelowStep) {
    public static final Changes NONE = new Changes(Map.of(), List.of(), List.of(), null);

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints) {
        this(producers, tgbs, checkpoints, null);
    }

    public Changes {
        producers = producers == null ? Map.of() : Map.copyOf(producers);
        tgbs = tgbs == null ? List.of() : List.copyOf(tgbs);
        checkpoints = checkpoints == null ? List.of() : List.copyOf(checkpoints);
    }

    public boolean isEmpty() {
        return producers.isEmpty() && tgbs.isEmpty() && checkpoints.isEmpty() && reclaimedBelowStep == null;
    }
}
