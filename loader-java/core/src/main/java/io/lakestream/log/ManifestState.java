package io.lakestream.log;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The log as of one version, immutable. TGBs of steps below {@link #indexedSteps()} live in
 * fixed-size index segments on the store; those from {@link #tailFirstStep()} on are held here.
 *
 * @param version            the newest applied version, -1 for an empty log
 * @param committedSteps     number of committed TGBs = the next step to be committed
 * @param checkpoints        the retained checkpoints (at most keep_checkpoints), oldest first
 * @param reclaimedBelowStep GC deleted the batch objects of every step below this
 * @param tailPartial        true if leading tail entries were dropped (a reader that trimmed what
 *                           it consumed); such a state cannot write snapshots
 * @param controls           every control record, oldest first (the last one is in force)
 */
public record ManifestState(StreamConfig config, long version, long committedSteps, Map<String, ProducerState> producers,
                            long indexedSteps, long tailFirstStep, List<TgbEntry> tail,
                            List<CheckpointRecord> checkpoints, long reclaimedBelowStep, long lastSnapshotVersion,
                            boolean tailPartial, List<ControlRecord> controls) {

    static ManifestState empty(StreamConfig config) {
        return new ManifestState(config, -1, 0, Map.of(), 0, 0, List.of(), List.of(), 0, -1, false, List.of());
    }

    static ManifestState fromSnapshot(StreamConfig config, Snapshot s) {
        return new ManifestState(config, s.version(), s.committedSteps(), Collections.unmodifiableMap(new TreeMap<>(s.producers())),
                s.indexedSteps(), s.indexedSteps(), List.copyOf(s.tail()), List.copyOf(s.checkpoints()), s.reclaimedBelowStep(),
                s.version(), false, List.copyOf(s.controls()));
    }

    /** The control record in force now, or null if none was ever committed. */
    public ControlRecord control() {
        return controls.isEmpty() ? null : controls.get(controls.size() - 1);
    }

    /** The version of the control record in force now (0: none). */
    public long controlVersion() {
        return controls.isEmpty() ? 0 : controls.get(controls.size() - 1).version();
    }

    /** The control record governing {@code step} (the last one whose from_step is at or below it), or null. */
    public ControlRecord controlAt(long step) {
        for (int i = controls.size() - 1; i >= 0; i--) {
            if (controls.get(i).fromStep() <= step) {
                return controls.get(i);
            }
        }
        return null;
    }

    /** The producer's state, or null if it never claimed an epoch. */
    public ProducerState producer(String id) {
        return producers.get(id);
    }

    /** The newest recorded checkpoint, or null. */
    public CheckpointRecord latestCheckpoint() {
        return checkpoints.isEmpty() ? null : checkpoints.get(checkpoints.size() - 1);
    }

    /** The retention floor: the step of the oldest retained checkpoint (0 if none). */
    public long floorStep() {
        return checkpoints.isEmpty() ? 0 : checkpoints.get(0).step();
    }

    /** Flow-control lag: committed steps beyond the newest checkpoint. */
    public long lagSteps() {
        CheckpointRecord c = latestCheckpoint();
        return committedSteps - (c == null ? 0 : c.step());
    }

    ManifestState apply(VersionFile v, String where) {
        if (v.version() != version + 1) {
            throw new LogFormatException(where + ": holds version " + v.version() + ", expected " + (version + 1));
        }
        if (v.firstStep() != committedSteps) {
            throw new LogFormatException(where + ": first_step is " + v.firstStep() + " but " + committedSteps
                    + " steps were committed before it");
        }
        for (TgbEntry t : v.tgbs()) {
            if (t.shards() == null || t.shards().size() != config.worldSize()) {
                throw new LogFormatException(where + ": TGB " + t.producer() + "/" + t.epoch() + "-" + t.seq() + " has "
                        + (t.shards() == null ? 0 : t.shards().size()) + " shards, world size is " + config.worldSize());
            }
        }
        Map<String, ProducerState> p = producers;
        if (!v.producers().isEmpty()) {
            TreeMap<String, ProducerState> np = new TreeMap<>(producers);
            np.putAll(v.producers());
            p = Collections.unmodifiableMap(np);
        }
        List<TgbEntry> nt = tail;
        if (!v.tgbs().isEmpty()) {
            ArrayList<TgbEntry> l = new ArrayList<>(tail.size() + v.tgbs().size());
            l.addAll(tail);
            l.addAll(v.tgbs());
            nt = Collections.unmodifiableList(l);
        }
        List<CheckpointRecord> nc = checkpoints;
        if (!v.checkpoints().isEmpty()) {
            ArrayList<CheckpointRecord> l = new ArrayList<>(checkpoints);
            for (CheckpointRecord c : v.checkpoints()) {
                if (l.isEmpty() || c.step() > l.get(l.size() - 1).step()) {
                    l.add(c);
                }
            }
            // Retention: only the newest keep_checkpoints are kept; the oldest of them is the floor.
            int keep = config.keepCheckpoints();
            nc = Collections.unmodifiableList(new ArrayList<>(l.subList(Math.max(0, l.size() - keep), l.size())));
        }
        long reclaimed = v.reclaimedBelowStep() == null ? reclaimedBelowStep : Math.max(reclaimedBelowStep, v.reclaimedBelowStep());
        List<ControlRecord> ncon = controls;
        if (!v.controls().isEmpty()) {
            ArrayList<ControlRecord> l = new ArrayList<>(controls);
            for (ControlRecord c : v.controls()) {
                long want = l.isEmpty() ? 1 : l.get(l.size() - 1).version() + 1;
                if (c.version() != want || c.fromStep() != committedSteps || !v.tgbs().isEmpty()) {
                    throw new LogFormatException(where + ": control record version " + c.version() + " from step " + c.fromStep()
                            + " does not follow the log (expected version " + want + " from step " + committedSteps
                            + ", in a version without TGBs)");
                }
                l.add(c);
            }
            ncon = Collections.unmodifiableList(l);
        }
        return new ManifestState(config, v.version(), committedSteps + v.tgbs().size(), p, indexedSteps, tailFirstStep, nt, nc,
                reclaimed, lastSnapshotVersion, tailPartial, ncon);
    }

    /** After index segments up to {@code indexed} were written: drop those entries from the tail. */
    ManifestState withIndexed(long snapshotVersion, long indexed) {
        long drop = indexed - tailFirstStep;
        return new ManifestState(config, version, committedSteps, producers, indexed, indexed,
                List.copyOf(tail.subList((int) drop, tail.size())), checkpoints, reclaimedBelowStep, snapshotVersion, false, controls);
    }

    /** Drops tail entries below {@code step} (readers that no longer need them). */
    ManifestState trimmedBefore(long step) {
        long drop = Math.min(Math.max(0, step - tailFirstStep), tail.size());
        if (drop == 0) {
            return this;
        }
        return new ManifestState(config, version, committedSteps, producers, indexedSteps, tailFirstStep + drop,
                List.copyOf(tail.subList((int) drop, tail.size())), checkpoints, reclaimedBelowStep, lastSnapshotVersion, true, controls);
    }

    Snapshot toSnapshot() {
        return new Snapshot(StreamConfig.FORMAT_VERSION, version, committedSteps, producers, indexedSteps, tail, checkpoints,
                reclaimedBelowStep, controls);
    }
}
