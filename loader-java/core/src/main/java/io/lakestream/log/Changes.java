package io.lakestream.log;

import java.util.List;
import java.util.Map;

/** What a committer wants the next version to carry. Built by a commit's prepare function. */
public record Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                      Long reclaimedBelowStep, List<ControlRecord> controls) {
    public static final Changes NONE = new Changes(Map.of(), List.of(), List.of(), null);

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints) {
        this(producers, tgbs, checkpoints, null);
    }

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                   Long reclaimedBelowStep) {
        this(producers, tgbs, checkpoints, reclaimedBelowStep, null);
    }

    /** A version carrying only a control record. */
    public static Changes control(ControlRecord c) {
        return new Changes(Map.of(), List.of(), List.of(), null, List.of(c));
    }

    public Changes {
        producers = producers == null ? Map.of() : Map.copyOf(producers);
        tgbs = tgbs == null ? List.of() : List.copyOf(tgbs);
        checkpoints = checkpoints == null ? List.of() : List.copyOf(checkpoints);
        controls = controls == null ? List.of() : List.copyOf(controls);
        if (!controls.isEmpty() && !tgbs.isEmpty()) {
            throw new IllegalArgumentException("a version carrying a control record carries no TGBs");
        }
    }

    public boolean isEmpty() {
        return producers.isEmpty() && tgbs.isEmpty() && checkpoints.isEmpty() && reclaimedBelowStep == null && controls.isEmpty();
    }
}
