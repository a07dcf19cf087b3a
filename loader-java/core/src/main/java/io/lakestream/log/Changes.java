package io.lakestream.log;

import java.util.List;
import java.util.Map;

/**
 * What a committer wants the next version to carry. Built by a commit's prepare function.
 *
 * @param endOfStream whether the version closes the stream (see {@link StreamEnd})
 * @param controls    control records (a version carrying them carries no TGBs)
 */
public record Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                      Long reclaimedBelowStep, boolean endOfStream, List<ControlRecord> controls) {
    public static final Changes NONE = new Changes(Map.of(), List.of(), List.of(), null, false, List.of());

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints) {
        this(producers, tgbs, checkpoints, null, false, List.of());
    }

    public Changes(Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                   Long reclaimedBelowStep) {
        this(producers, tgbs, checkpoints, reclaimedBelowStep, false, List.of());
    }

    /** A version carrying only a control record. */
    public static Changes control(ControlRecord c) {
        return new Changes(Map.of(), List.of(), List.of(), null, false, List.of(c));
    }

    /** A group commit: {@code producer}'s TGBs and its state after them (epoch, last sequence, cursor). */
    public static Changes batches(String producer, ProducerState state, List<TgbEntry> tgbs) {
        return new Changes(Map.of(producer, state), tgbs, List.of(), null, false, List.of());
    }

    /** A version carrying only {@code producer}'s new state: an epoch claim, which fences older epochs. */
    public static Changes producerState(String producer, ProducerState state) {
        return new Changes(Map.of(producer, state), List.of(), List.of(), null, false, List.of());
    }

    /** A version carrying only a checkpoint record (recorded, or a consumer removed). */
    public static Changes checkpoint(CheckpointRecord c) {
        return new Changes(Map.of(), List.of(), List.of(c), null, false, List.of());
    }

    /** A version carrying only GC's mark: the batch objects of steps below {@code step} are reclaimed. */
    public static Changes reclaimedBelow(long step) {
        return new Changes(Map.of(), List.of(), List.of(), step, false, List.of());
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

    /** A version that only records the end of the stream (closes it). */
    public static Changes closing() {
        return new Changes(Map.of(), List.of(), List.of(), null, true, List.of());
    }

    public boolean isEmpty() {
        return producers.isEmpty() && tgbs.isEmpty() && checkpoints.isEmpty() && reclaimedBelowStep == null && !endOfStream
                && controls.isEmpty();
    }
}
