package io.lakestream.retention;

import io.lakestream.StreamEnv;
import io.lakestream.log.Changes;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.store.ObjectStore;
import java.util.List;
import java.util.Map;

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
     * Records checkpoint {@code step}. Idempotent: recording a step that is already recorded is a
     * no-op (result not committed).
     *
     * @throws IllegalArgumentException if {@code step} was never committed (it exceeds the
     *                                  committed steps) or is older than the newest checkpoint
     */
    public static CommitResult record(ManifestLog log, long step, String id) {
        if (step < 0) {
            throw new IllegalArgumentException("checkpoint step must be >= 0, got " + step);
        }
        String cid = id == null || id.isBlank() ? "step-" + step : id;
        return log.commit("checkpoint", s -> prepare(log, s, step, cid));
    }

    private static Changes prepare(ManifestLog log, ManifestState s, long step, String id) {
        if (step > s.committedSteps()) {
            throw new IllegalArgumentException("cannot record checkpoint at step " + step + " of " + log.store().describe()
                    + ": only " + s.committedSteps() + " steps were committed (a checkpoint names the next step to consume)");
        }
        for (CheckpointRecord c : s.checkpoints()) {
            if (c.step() == step) {
                return Changes.NONE;
            }
        }
        CheckpointRecord latest = s.latestCheckpoint();
        if (latest != null && step < latest.step()) {
            throw new IllegalArgumentException("cannot record checkpoint at step " + step + " of " + log.store().describe()
                    + ": it is older than the newest recorded checkpoint (step " + latest.step() + ")");
        }
        if (step < s.floorStep()) {
            throw new IllegalArgumentException("checkpoint step " + step + " is below the retention floor " + s.floorStep());
        }
        return new Changes(Map.of(), List.of(), List.of(new CheckpointRecord(step, id, log.env().clock().wallMillis())));
    }
}
