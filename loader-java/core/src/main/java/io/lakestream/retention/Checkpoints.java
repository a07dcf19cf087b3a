package io.lakestream.retention;

import io.lakestream.StreamEnv;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.Changes;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.store.ObjectStore;
import java.util.List;

/**
 * Records durable training checkpoints in the log. One rank (the trainer's coordinator) calls
 * {@link #record} after checkpoint {@code step} (the next step the trainer will consume) is
 * durable. The newest {@code keep_checkpoints} are retained; the oldest of them is the floor
 * below which GC may reclaim batches, and the newest drives producer flow control.
 */
public final class Checkpoints {
    private Checkpoints() {}

    /** Opens the stream at {@code store} and records a checkpoint. */
    public static CommitResult record(ObjectStore store, long step, String id) {
        return record(store, step, id, StreamEnv.defaults());
    }

    /** As {@link #record(ObjectStore, long, String)}, with the given environment. */
    public static CommitResult record(ObjectStore store, long step, String id, StreamEnv env) {
        return record(ManifestLog.open(store, env), step, id);
    }

    /**
     * Records checkpoint {@code step} of the default consumer. Idempotent: recording a step that
     * is already recorded is a no-op (result not committed).
     *
     * @throws StepNotCommittedException if {@code step} was never committed (it exceeds the committed steps)
     * @throws IllegalArgumentException if {@code step} is older than the newest checkpoint
     */
    public static CommitResult record(ManifestLog log, long step, String id) {
        return record(log, step, id, null);
    }

    /**
     * Records checkpoint {@code step} of {@code consumer} (null: the default consumer). Each
     * consumer's newest {@code keep_checkpoints} are retained; the floor is the lowest step any
     * consumer retains. A consumer's first record registers it: from then on it holds the floor
     * at its step, so a reference run or an eval job reads the stream from there while another
     * run trains ahead. Idempotent per consumer. A first step below the floor is allowed while GC
     * has not reclaimed it (the new consumer then lowers the floor to its step, and GC keeps it).
     *
     * @throws StepNotCommittedException if {@code step} was never committed (it exceeds the committed steps)
     * @throws IllegalArgumentException if {@code step} is older than the consumer's newest checkpoint
     * @throws BelowFloorException     if a new consumer's first step is below {@code reclaimed_below_step}
     *                                  (its batches are deleted); its {@code floor()} is the lowest step
     *                                  still readable
     */
    public static CommitResult record(ManifestLog log, long step, String id, String consumer) {
        if (step < 0) {
            throw new IllegalArgumentException("checkpoint step must be >= 0, got " + step);
        }
        String name = consumerName(consumer);
        String cid = id == null || id.isBlank() ? "step-" + step : id;
        return log.commit("checkpoint", s -> prepare(log, s, step, cid, name));
    }

    /**
     * Registers {@code consumer} to start at {@code step}: its first checkpoint record, which holds
     * the floor there (also below the current floor, while GC has not reclaimed {@code step}).
     */
    public static CommitResult register(ManifestLog log, String consumer, long step) {
        return record(log, step, "registered", consumer);
    }

    /**
     * Removes {@code consumer} and its checkpoints: it no longer holds the floor (GC may then
     * reclaim what only it needed). A no-op for a consumer without records.
     */
    public static CommitResult remove(ManifestLog log, String consumer) {
        String name = consumerName(consumer);
        return log.commit("remove-consumer", s -> s.latestCheckpoint(name) == null ? Changes.NONE
                : Changes.checkpoint(new CheckpointRecord(s.latestCheckpoint(name).step(), "removed",
                        log.env().clock().wallMillis(), wireName(name), true)));
    }

    private static String consumerName(String consumer) {
        if (consumer == null || consumer.isEmpty()) {
            return CheckpointRecord.DEFAULT_CONSUMER;
        }
        if (consumer.isBlank() || consumer.length() > 128 || consumer.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("consumer name must be 1-128 characters without control characters, got '"
                    + consumer + "'");
        }
        return consumer;
    }

    /** The default consumer's records carry no name, as every record written before consumers existed. */
    private static String wireName(String name) {
        return CheckpointRecord.DEFAULT_CONSUMER.equals(name) ? null : name;
    }

    private static Changes prepare(ManifestLog log, ManifestState s, long step, String id, String consumer) {
        String who = CheckpointRecord.DEFAULT_CONSUMER.equals(consumer) ? "" : " for consumer '" + consumer + "'";
        if (step > s.committedSteps()) {
            throw new StepNotCommittedException("cannot record checkpoint at step " + step + who + " of " + log.store().describe()
                    + ": only " + s.committedSteps() + " steps were committed (a checkpoint names the next step to consume)",
                    log.store().describe(), step, s.committedSteps());
        }
        List<CheckpointRecord> mine = s.consumers().getOrDefault(consumer, List.of());
        for (CheckpointRecord c : mine) {
            if (c.step() == step) {
                return Changes.NONE;
            }
        }
        CheckpointRecord latest = s.latestCheckpoint(consumer);
        if (latest != null && step < latest.step()) {
            throw new IllegalArgumentException("cannot record checkpoint at step " + step + who + " of " + log.store().describe()
                    + ": it is older than the newest recorded checkpoint (step " + latest.step() + ")");
        }
        if (step < s.reclaimedBelowStep()) {
            // A new consumer cannot start where GC has reclaimed. Below the floor but at or above the
            // reclaimed mark is fine: GC commits its mark before it deletes (GarbageCollector#run),
            // so this commit and GC's are ordered by the log: whichever lands second sees the other.
            throw BelowFloorException.reclaimed(log.store().describe(), consumer, step, s.reclaimedBelowStep());
        }
        return Changes.checkpoint(new CheckpointRecord(step, id, log.env().clock().wallMillis(), wireName(consumer), null));
    }
}
