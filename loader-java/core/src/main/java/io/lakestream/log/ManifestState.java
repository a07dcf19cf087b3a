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
 * @param checkpoints        the retained checkpoints (at most keep_checkpoints per consumer), in the
 *                           order recorded
 * @param reclaimedBelowStep GC deleted the batch objects of every step below this
 * @param tailPartial        true if leading tail entries were dropped (a reader that trimmed what
 *                           it consumed); such a state cannot write snapshots
 * @param endStep            the step the stream ended at (= its committed steps) once an
 *                           end-of-stream record is committed, else -1
 * @param controls           every control record, oldest first (the last one is in force)
 * @param indexSplits        first steps of index segments below {@code indexedSteps} that do not
 *                           start at a multiple of {@code index_segment_steps}, ascending (format
 *                           version 2, where a segment closes early at its byte bound)
 */
public record ManifestState(StreamConfig config, long version, long committedSteps, Map<String, ProducerState> producers,
                            long indexedSteps, long tailFirstStep, List<TgbEntry> tail,
                            List<CheckpointRecord> checkpoints, long reclaimedBelowStep, long lastSnapshotVersion,
                            boolean tailPartial, long endStep, List<ControlRecord> controls, List<Long> indexSplits) {

    /** A state whose index segments all start at multiples of {@code index_segment_steps}. */
    public ManifestState(StreamConfig config, long version, long committedSteps, Map<String, ProducerState> producers,
                         long indexedSteps, long tailFirstStep, List<TgbEntry> tail, List<CheckpointRecord> checkpoints,
                         long reclaimedBelowStep, long lastSnapshotVersion, boolean tailPartial, long endStep,
                         List<ControlRecord> controls) {
        this(config, version, committedSteps, producers, indexedSteps, tailFirstStep, tail, checkpoints, reclaimedBelowStep,
                lastSnapshotVersion, tailPartial, endStep, controls, List.of());
    }

    /** A state of a stream that has not ended and has no control records. */
    public ManifestState(StreamConfig config, long version, long committedSteps, Map<String, ProducerState> producers,
                         long indexedSteps, long tailFirstStep, List<TgbEntry> tail, List<CheckpointRecord> checkpoints,
                         long reclaimedBelowStep, long lastSnapshotVersion, boolean tailPartial) {
        this(config, version, committedSteps, producers, indexedSteps, tailFirstStep, tail, checkpoints, reclaimedBelowStep,
                lastSnapshotVersion, tailPartial, -1, List.of());
    }

    static ManifestState empty(StreamConfig config) {
        return new ManifestState(config, -1, 0, Map.of(), 0, 0, List.of(), List.of(), 0, -1, false, -1, List.of(), List.of());
    }

    /**
     * The state a snapshot records, after checking it is one this build can trust: its format
     * version, an inline tail of exactly the steps above the indexed ones, segment-aligned, each
     * TGB valid. A snapshot that fails is skipped by the caller (it summarises versions that a
     * listing can still replay), never half-used.
     */
    static ManifestState fromSnapshot(StreamConfig config, Snapshot s, String where) {
        if (s.formatVersion() != config.formatVersion()) {
            throw new LogFormatException(where + ": format_version " + s.formatVersion() + " is not the stream's ("
                    + config.formatVersion() + ")");
        }
        long n = config.indexSegmentSteps();
        boolean byteBound = config.indexSegmentBytes() > 0;
        if (s.indexedSteps() < 0 || (!byteBound && s.indexedSteps() % n != 0) || s.indexedSteps() > s.committedSteps()
                || s.tail().size() != s.committedSteps() - s.indexedSteps()) {
            throw new LogFormatException(where + ": inconsistent step counts: committed_steps " + s.committedSteps() + ", indexed_steps "
                    + s.indexedSteps() + " (segments of " + n + (byteBound ? " steps or " + config.indexSegmentBytes() + " bytes" : "")
                    + "), " + s.tail().size() + " inline TGBs");
        }
        long prev = -1;
        for (Long split : s.indexSplits()) {
            if (!byteBound || split == null || split <= prev || split % n == 0 || split >= s.indexedSteps()) {
                throw new LogFormatException(where + ": index_splits " + s.indexSplits() + " are not ascending first steps of segments"
                        + " below indexed_steps " + s.indexedSteps() + " off the multiples of " + n
                        + (byteBound ? "" : " (this stream has no byte bound, so no splits)"));
            }
            prev = split;
        }
        if (s.reclaimedBelowStep() < 0 || s.reclaimedBelowStep() > s.committedSteps()) {
            throw new LogFormatException(where + ": reclaimed_below_step " + s.reclaimedBelowStep() + " is outside [0, "
                    + s.committedSteps() + "]");
        }
        if (s.endedAtStep() != null && s.endedAtStep() != s.committedSteps()) {
            throw new LogFormatException(where + ": ended_at_step " + s.endedAtStep() + " is not committed_steps " + s.committedSteps());
        }
        Map<String, Long> lastSeq = new java.util.HashMap<>();
        for (int i = 0; i < s.tail().size(); i++) {
            TgbEntry t = s.tail().get(i);
            t.validate(config.worldSize(), where);
            // The tail is a window of the log: per producer, sequences rise and never pass the
            // producer state the snapshot records (so no two steps name one object).
            ProducerState ps = s.producers().get(t.producer());
            Long prevSeq = lastSeq.put(t.producer(), t.seq());
            if (ps == null || t.epoch() > ps.epoch() || t.seq() > ps.seq() || (prevSeq != null && t.seq() <= prevSeq)) {
                throw new LogFormatException(where + ": step " + (s.indexedSteps() + i) + " (TGB " + t.producer() + "/" + t.epoch() + "-"
                        + t.seq() + "): field 'seq' does not follow producer '" + t.producer() + "' ("
                        + (ps == null ? "not in 'producers'" : "at epoch " + ps.epoch() + " seq " + ps.seq())
                        + (prevSeq == null ? "" : ", previous inline seq " + prevSeq) + ")");
            }
        }
        return new ManifestState(config, s.version(), s.committedSteps(), Collections.unmodifiableMap(new TreeMap<>(s.producers())),
                s.indexedSteps(), s.indexedSteps(), List.copyOf(s.tail()), List.copyOf(s.checkpoints()), s.reclaimedBelowStep(),
                s.version(), false, s.endedAtStep() == null ? -1 : s.endedAtStep(), List.copyOf(s.controls()),
                List.copyOf(s.indexSplits()));
    }

    /**
     * The first step of the index segment holding {@code step} (below {@link #indexedSteps()}):
     * the greater of the multiple of {@code index_segment_steps} at or below it and the greatest
     * split at or below it.
     */
    public long segmentStart(long step) {
        long n = config.indexSegmentSteps();
        long start = step / n * n;
        int at = lastSplitAtOrBelow(step);
        return at >= 0 ? Math.max(start, indexSplits.get(at)) : start;
    }

    /** The step after the last one of the index segment that starts at {@code start}. */
    public long segmentEnd(long start) {
        long n = config.indexSegmentSteps();
        long end = Math.min((start / n + 1) * n, indexedSteps);
        int at = lastSplitAtOrBelow(start) + 1; // the least split > start (splits ascend)
        return at < indexSplits.size() ? Math.min(end, indexSplits.get(at)) : end;
    }

    /** The index of the greatest split <= step, or -1; a search that boxes no step (a reader looks up every step: issue 23). */
    private int lastSplitAtOrBelow(long step) {
        int at = -1;
        for (int lo = 0, hi = indexSplits.size() - 1; lo <= hi; ) {
            int mid = (lo + hi) >>> 1;
            if (indexSplits.get(mid) <= step) {
                at = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return at;
    }

    /** Whether an end-of-stream record was committed: no step at or above {@link #endStep()} will ever exist. */
    public boolean ended() {
        return endStep >= 0;
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

    /**
     * The checkpoint flow control measures from: the newest checkpoint of the slowest consumer
     * (the lowest of the consumers' newest steps; with one consumer, its newest), or null.
     */
    public CheckpointRecord latestCheckpoint() {
        // Without a map per call: flow control asks on every commit (issue 23's garbage). The
        // records are few (a handful per consumer); ties go to the first consumer by name.
        CheckpointRecord slowest = null;
        for (int i = 0; i < checkpoints.size(); i++) {
            CheckpointRecord c = checkpoints.get(i);
            if (newestOf(c.consumerName()) != c) {
                continue;
            }
            if (slowest == null || c.step() < slowest.step()
                    || (c.step() == slowest.step() && c.consumerName().compareTo(slowest.consumerName()) < 0)) {
                slowest = c;
            }
        }
        return slowest;
    }

    /** The newest retained checkpoint of {@code consumer} (null: the default consumer), or null. */
    public CheckpointRecord latestCheckpoint(String consumer) {
        return newestOf(consumer == null ? CheckpointRecord.DEFAULT_CONSUMER : consumer);
    }

    /** {@code consumer}'s record with the highest step (the first of equal ones), or null. */
    private CheckpointRecord newestOf(String consumer) {
        CheckpointRecord newest = null;
        for (int i = 0; i < checkpoints.size(); i++) {
            CheckpointRecord c = checkpoints.get(i);
            if (c.consumerName().equals(consumer) && (newest == null || c.step() > newest.step())) {
                newest = c;
            }
        }
        return newest;
    }

    /** Each consumer's retained checkpoints, oldest first, by consumer name (sorted). */
    public Map<String, List<CheckpointRecord>> consumers() {
        TreeMap<String, List<CheckpointRecord>> m = new TreeMap<>();
        for (CheckpointRecord c : checkpoints) {
            m.computeIfAbsent(c.consumerName(), k -> new ArrayList<>()).add(c);
        }
        return m;
    }

    /**
     * The retention floor: the lowest step any consumer retains a checkpoint at (each consumer
     * retains its newest {@code keep_checkpoints}; with one consumer, its oldest retained), 0 if
     * none.
     */
    public long floorStep() {
        long floor = Long.MAX_VALUE;
        for (CheckpointRecord c : checkpoints) {
            floor = Math.min(floor, c.step());
        }
        return checkpoints.isEmpty() ? 0 : floor;
    }

    /** Flow-control lag: committed steps beyond {@link #latestCheckpoint()} (the slowest consumer's newest). */
    public long lagSteps() {
        CheckpointRecord c = latestCheckpoint();
        return committedSteps - (c == null ? 0 : c.step());
    }

    /**
     * {@code retained} after the records {@code added}, per consumer: a record whose step is not
     * above its consumer's newest is ignored; each consumer keeps its newest {@code keep}; a
     * removal record drops its consumer's records.
     */
    static List<CheckpointRecord> retain(List<CheckpointRecord> retained, List<CheckpointRecord> added, int keep) {
        ArrayList<CheckpointRecord> l = new ArrayList<>(retained);
        for (CheckpointRecord c : added) {
            String name = c.consumerName();
            if (c.isRemoval()) {
                l.removeIf(r -> r.consumerName().equals(name));
                continue;
            }
            int count = 0;
            CheckpointRecord newest = null;
            for (CheckpointRecord r : l) {
                if (r.consumerName().equals(name)) {
                    count++;
                    newest = newest == null || r.step() > newest.step() ? r : newest;
                }
            }
            if (newest != null && c.step() <= newest.step()) {
                continue;
            }
            l.add(c);
            // Retention: only the consumer's newest keep_checkpoints are kept (its records are in step order).
            for (int drop = count + 1 - keep, i = 0; drop > 0 && i < l.size(); ) {
                if (l.get(i).consumerName().equals(name)) {
                    l.remove(i);
                    drop--;
                } else {
                    i++;
                }
            }
        }
        return Collections.unmodifiableList(l);
    }

    ManifestState apply(VersionFile v, Object where) {
        if (v.version() != version + 1) {
            throw new LogFormatException(where + ": holds version " + v.version() + ", expected " + (version + 1));
        }
        if (v.commitToken() == null || v.commitToken().isEmpty()) {
            throw new LogFormatException(where + ": required field 'commit_token' is missing");
        }
        if (v.firstStep() != committedSteps) {
            throw new LogFormatException(where + ": first_step is " + v.firstStep() + " but " + committedSteps
                    + " steps were committed before it");
        }
        if (ended() && !v.tgbs().isEmpty()) {
            throw new LogFormatException(where + ": commits " + v.tgbs().size() + " TGBs after the stream ended at step " + endStep
                    + " (end-of-stream record in an earlier version)");
        }
        List<TgbEntry> vt = v.tgbs();
        for (int i = 0; i < vt.size(); i++) { // indexed: an immutable list's iterator is an allocation per version
            vt.get(i).validate(config.worldSize(), where);
        }
        ProducerChains.check(producers, committedSteps, v, where);
        Map<String, ProducerState> p = producers;
        if (!v.producers().isEmpty()) {
            TreeMap<String, ProducerState> np = new TreeMap<>(producers);
            np.putAll(v.producers());
            p = Collections.unmodifiableMap(np);
        }
        List<TgbEntry> nt = SharedTail.append(tail, v.tgbs()); // no copy of the tail per version
        List<CheckpointRecord> nc = checkpoints;
        if (!v.checkpoints().isEmpty()) {
            // Retention per consumer: each keeps its newest keep_checkpoints; the lowest retained is the floor.
            nc = retain(checkpoints, v.checkpoints(), config.keepCheckpoints());
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
        long committed = committedSteps + v.tgbs().size();
        // The first end-of-stream record fixes the end; a repeated one changes nothing.
        long end = !ended() && Boolean.TRUE.equals(v.endOfStream()) ? committed : endStep;
        return new ManifestState(config, v.version(), committed, p, indexedSteps, tailFirstStep, nt, nc,
                reclaimed, lastSnapshotVersion, tailPartial, end, ncon, indexSplits);
    }

    /**
     * After index segments up to {@code indexed} were written (new segments starting off the
     * multiples of {@code index_segment_steps} listed in {@code newSplits}): drop those entries
     * from the tail, and forget the splits of segments wholly below {@code reclaimed_below_step}
     * (no reader may ask for their steps), which keeps the list bounded by retention.
     */
    ManifestState withIndexed(long snapshotVersion, long indexed, List<Long> newSplits) {
        long drop = indexed - tailFirstStep;
        List<Long> splits = indexSplits;
        if (!newSplits.isEmpty() || !indexSplits.isEmpty()) {
            ArrayList<Long> l = new ArrayList<>(indexSplits);
            l.addAll(newSplits);
            ManifestState withAll = new ManifestState(config, version, committedSteps, producers, indexed, indexed, List.of(),
                    checkpoints, reclaimedBelowStep, snapshotVersion, false, endStep, controls, l);
            long keepFrom = reclaimedBelowStep >= indexed ? indexed : withAll.segmentStart(reclaimedBelowStep);
            l.removeIf(x -> x < keepFrom);
            splits = List.copyOf(l);
        }
        return new ManifestState(config, version, committedSteps, producers, indexed, indexed,
                List.copyOf(tail.subList((int) drop, tail.size())), checkpoints, reclaimedBelowStep, snapshotVersion, false, endStep,
                controls, splits);
    }

    /**
     * This state indexed as {@code snap} (a valid snapshot of this stream no newer than this
     * state) is: its segments cover the steps below its {@code indexed_steps}, so the tail can
     * start there. Unchanged where this state is indexed further already.
     */
    ManifestState withIndexingOf(Snapshot snap) {
        return withIndexing(snap.version(), snap.committedSteps(), snap.indexedSteps(), snap.indexSplits());
    }

    /**
     * This state indexed as {@code other} (an earlier or equal state of this stream, indexed
     * further perhaps) is: how a snapshot written in the background while commits went on is
     * folded into the state that moved past it.
     */
    ManifestState withIndexingOf(ManifestState other) {
        return withIndexing(other.lastSnapshotVersion, other.committedSteps, other.indexedSteps, other.indexSplits);
    }

    private ManifestState withIndexing(long snapVersion, long snapCommitted, long snapIndexed, List<Long> snapSplits) {
        if (snapVersion > version || snapCommitted > committedSteps || snapIndexed < tailFirstStep || tailPartial) {
            return this;
        }
        if (snapIndexed <= indexedSteps) {
            return new ManifestState(config, version, committedSteps, producers, indexedSteps, tailFirstStep, tail, checkpoints,
                    reclaimedBelowStep, Math.max(lastSnapshotVersion, snapVersion), false, endStep, controls, indexSplits);
        }
        long drop = snapIndexed - tailFirstStep;
        return new ManifestState(config, version, committedSteps, producers, snapIndexed, snapIndexed,
                List.copyOf(tail.subList((int) drop, tail.size())), checkpoints, reclaimedBelowStep, snapVersion, false, endStep,
                controls, List.copyOf(snapSplits));
    }

    /** Drops tail entries below {@code step} (readers that no longer need them). */
    ManifestState trimmedBefore(long step) {
        long drop = Math.min(Math.max(0, step - tailFirstStep), tail.size());
        if (drop == 0) {
            return this;
        }
        return new ManifestState(config, version, committedSteps, producers, indexedSteps, tailFirstStep + drop,
                List.copyOf(tail.subList((int) drop, tail.size())), checkpoints, reclaimedBelowStep, lastSnapshotVersion, true, endStep,
                controls, indexSplits);
    }

    /** The snapshot of this state, its entries in the form the stream's format version writes. */
    Snapshot toSnapshot() {
        List<TgbEntry> t = new ArrayList<>(tail.size());
        for (TgbEntry e : tail) {
            t.add(e.inForm(config.formatVersion()));
        }
        return new Snapshot(config.formatVersion(), version, committedSteps, producers, indexedSteps, t, checkpoints,
                reclaimedBelowStep, ended() ? endStep : null, controls, indexSplits);
    }
}
