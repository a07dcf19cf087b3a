package io.lakestream.retention;

import io.lakestream.log.Changes;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.VersionTombstone;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reclaims storage no reader at or above the retention floor can need:
 * <ol>
 *   <li>a log record that moves the "reclaimed below" mark to the floor (readers asking below it
 *       get a clear error; consumers can no longer register below it), then the batch objects of
 *       steps in [already reclaimed, mark);</li>
 *   <li>orphans: objects under {@code data/} that no committed step references, that their
 *       producer can no longer commit (a newer epoch fenced it, see {@link #mayStillBeCommitted}),
 *       and that are older than the orphan grace period (by default the stream's
 *       {@code orphan_grace_ms});</li>
 *   <li>log files: versions below the older of the two newest snapshots and older snapshots, each
 *       only once older than the stream's log grace ({@link StreamConfig#logGraceMs()}; a smaller
 *       grace passed in is raised to it), and index segments whose steps are all below the
 *       reclaimed mark.</li>
 * </ol>
 * Safe to run concurrently with producers, readers and other GC passes: every deletion is of
 * something already unreachable from the newest state, and deletes are idempotent.
 */
public final class GarbageCollector {
    private static final System.Logger LOG = System.getLogger(GarbageCollector.class.getName());

    private final ManifestLog log;
    private final long orphanGraceMillis;
    private final long logGraceMillis;

    public GarbageCollector(ManifestLog log, long orphanGraceMillis, long logGraceMillis) {
        this.log = log;
        this.orphanGraceMillis = orphanGraceMillis;
        // Never below the stream's log grace, which every follower's guard relies on: a shorter
        // one could reclaim a version a stale committer then re-creates.
        this.logGraceMillis = Math.max(logGraceMillis, log.config().logGraceMs());
    }

    /** With the stream's log grace. */
    public GarbageCollector(ManifestLog log, long orphanGraceMillis) {
        this(log, orphanGraceMillis, 0);
    }

    /** With the stream's orphan grace and log grace. */
    public GarbageCollector(ManifestLog log) {
        this(log, log.config().orphanGraceMs(), 0);
    }

    /** Bytes GC could reclaim below the floor right now (batch objects only). */
    public static long reclaimableBytes(ManifestLog log) {
        ManifestState s = log.state();
        long bytes = 0;
        for (long step = s.reclaimedBelowStep(); step < Math.min(s.floorStep(), s.committedSteps()); step++) {
            bytes += log.entry(step).objectSize();
        }
        return bytes;
    }

    public GcReport run(boolean dryRun) {
        ObjectStore store = log.store();
        ManifestState s = log.refresh();
        long floor = Math.min(s.floorStep(), s.committedSteps());
        long from = s.reclaimedBelowStep();

        // 1. batches below the floor
        // The entries of [from, floor) are read first (once the mark moves, the log refuses them).
        List<TgbEntry> below = new ArrayList<>();
        for (long step = from; step < floor; step++) {
            below.add(log.entry(step));
        }
        // Then the mark is committed, and only then are the objects deleted. Why this order: a
        // consumer may register below the floor while nothing there is reclaimed (Checkpoints), so
        // the mark must be in the log before any object under it goes. The mark is recomputed from
        // the state the commit extends: a consumer registered since lowers it, and whichever of the
        // two commits lands second sees the other. A crash after the commit leaves objects below
        // the mark that no step at or above it names: the orphan pass below (of a later run)
        // deletes them once the orphan grace has passed.
        long mark = floor;
        if (!dryRun && floor > from) {
            long[] committed = {floor};
            log.commit("gc", st -> {
                committed[0] = Math.min(floor, Math.min(st.floorStep(), st.committedSteps()));
                return st.reclaimedBelowStep() >= committed[0] ? Changes.NONE
                        : new Changes(Map.of(), List.of(), List.of(), committed[0]);
            });
            mark = Math.max(from, committed[0]);
        }
        // What any step at or above the mark names is never deleted, whatever names it below: the
        // log refuses two steps naming one object (ManifestState checks producer sequences), and
        // GC does not rely on that alone.
        Set<String> needed = liveObjects(mark);
        Map<String, Long> belowFloor = new HashMap<>();
        for (long step = from; step < mark; step++) {
            TgbEntry e = below.get((int) (step - from));
            // Only ever a batch object: the log rejects an entry naming another key, and GC checks again.
            if (StreamLayout.parse(e.object()) instanceof StreamLayout.BatchObject && !needed.contains(e.object())) {
                belowFloor.put(e.object(), e.objectSize());
            }
        }
        long batchBytes = belowFloor.values().stream().mapToLong(Long::longValue).sum();
        if (!dryRun && !belowFloor.isEmpty()) {
            store.deleteAll(List.copyOf(belowFloor.keySet()));
        }

        // 2. orphans: listed objects referenced by no committed step at or above the floor
        long now = log.env().clock().wallMillis();
        List<ObjectInfo> candidates = new ArrayList<>();
        List<String> unrecognised = new ArrayList<>();
        Set<String> live = liveObjects(mark);
        for (ObjectInfo o : store.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Unknown u) {
                unrecognised.add(u.describe());
            } else if (!live.contains(o.key()) && !belowFloor.containsKey(o.key()) && now - o.lastModifiedMillis() > orphanGraceMillis) {
                candidates.add(o);
            }
        }
        if (!candidates.isEmpty()) {
            // a commit may have landed since: re-read and spare whatever it references now, and
            // whatever its producer can still commit
            Set<String> liveNow = liveObjects(mark);
            ManifestState now2 = log.state();
            candidates.removeIf(o -> liveNow.contains(o.key()) || mayStillBeCommitted(o.key(), now2));
        }
        // Objects a store probe (doctor, stream creation) wrote and could not remove (it died, or
        // its deletes failed): nothing reads them; they go once as old as an orphan would.
        for (ObjectInfo o : store.list(io.lakestream.store.StoreProbe.PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.ProbeObject && now - o.lastModifiedMillis() > orphanGraceMillis) {
                candidates.add(o);
            }
        }
        long orphanBytes = candidates.stream().mapToLong(ObjectInfo::size).sum();
        if (!dryRun && !candidates.isEmpty()) {
            store.deleteAll(candidates.stream().map(ObjectInfo::key).toList());
        }

        // 3. log files no reader can need
        List<ObjectInfo> logGarbage = logGarbage(now, unrecognised);
        long logBytes = logGarbage.stream().mapToLong(ObjectInfo::size).sum();
        if (!dryRun && !logGarbage.isEmpty()) {
            List<String> deletable = new ArrayList<>();
            for (ObjectInfo o : logGarbage) {
                if (StreamLayout.parse(o.key()) instanceof StreamLayout.Version v) {
                    store.put(o.key(), VersionTombstone.bytes(v.version()));
                } else {
                    deletable.add(o.key());
                }
            }
            store.deleteAll(deletable);
        }
        if (!unrecognised.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, unrecognised.size() + " keys of " + store.describe() + " are not Lakestream keys and"
                    + " were left alone, e.g. " + unrecognised.get(0));
        }
        return new GcReport(dryRun, mark, from, belowFloor.size(), batchBytes, candidates.size(), orphanBytes,
                logGarbage.size(), logBytes, List.copyOf(unrecognised));
    }

    /**
     * Whether the producer that wrote {@code key} could still commit it: its epoch is the
     * producer's current one and its sequence is beyond the committed one. Such an object is
     * never an orphan, however old (its producer may be slow, paused, or waiting on flow
     * control); it becomes one once a newer epoch fences it, or the stream is closed. Keys that do
     * not parse as batch objects are not ours to judge and are kept.
     */
    static boolean mayStillBeCommitted(String key, ManifestState s) {
        if (!(StreamLayout.parse(key) instanceof StreamLayout.BatchObject b)) {
            return true;
        }
        if (s.ended()) {
            return false; // a closed stream accepts no batch from anyone
        }
        ProducerState p = s.producer(b.producer());
        if (p == null) {
            return true; // its epoch claim is newer than our state
        }
        return b.epoch() > p.epoch() || (b.epoch() == p.epoch() && b.seq() > p.seq());
    }

    private Set<String> liveObjects(long floor) {
        ManifestState s = log.refresh();
        Set<String> live = new HashSet<>();
        for (long step = Math.max(floor, s.reclaimedBelowStep()); step < s.committedSteps(); step++) {
            live.add(log.entry(step).object());
        }
        return live;
    }

    private List<ObjectInfo> logGarbage(long now, List<String> unrecognised) {
        ObjectStore store = log.store();
        TreeMap<Long, ObjectInfo> versions = new TreeMap<>();
        TreeMap<Long, ObjectInfo> snapshots = new TreeMap<>();
        for (ObjectInfo o : store.list(StreamLayout.LOG_PREFIX, null, Integer.MAX_VALUE)) {
            switch (StreamLayout.parse(o.key())) {
                case StreamLayout.Version v -> versions.put(v.version(), o);
                case StreamLayout.Snapshot sn -> snapshots.put(sn.version(), o);
                case StreamLayout.Unknown u -> unrecognised.add(u.describe());
                default -> { } // the snapshot hint
            }
        }
        List<ObjectInfo> garbage = new ArrayList<>();
        // Index segments whose every step is below what was reclaimed, at once (no log grace): only
        // readers below the floor could want them, and those get a clear error anyway (a reader
        // holding an older state re-confirms the head when a segment is missing, ManifestLog#entry).
        // A segment ends at the next multiple of index_segment_steps or earlier (format version 2
        // closes segments at a byte bound): never after the next listed segment starts. Judging by
        // the multiple alone kept every early-closed segment below the mark for ever.
        long n = log.config().indexSegmentSteps();
        long reclaimed = log.state().reclaimedBelowStep();
        List<ObjectInfo> segments = new ArrayList<>();
        List<Long> firsts = new ArrayList<>();
        for (ObjectInfo o : store.list(StreamLayout.INDEX_PREFIX, null, Integer.MAX_VALUE)) {
            switch (StreamLayout.parse(o.key())) {
                case StreamLayout.IndexSegment seg -> {
                    segments.add(o);
                    firsts.add(seg.firstStep());
                }
                case StreamLayout.Unknown u -> unrecognised.add(u.describe());
                default -> unrecognised.add(o.key() + " (not an index segment)");
            }
        }
        for (int i = 0; i < segments.size(); i++) {
            long first = firsts.get(i);
            long end = first / n * n > Long.MAX_VALUE - n ? Long.MAX_VALUE : first / n * n + n; // never crosses a multiple of n
            if (i + 1 < segments.size()) {
                end = Math.min(end, firsts.get(i + 1)); // listed in step order (20-digit keys)
            }
            if (end <= reclaimed) {
                garbage.add(segments.get(i));
            }
        }
        if (snapshots.size() >= 2) {
            // Keep the two newest snapshots (a reader may be loading the older one right now) and
            // every version after the older one.
            long oldestKept = new ArrayList<>(snapshots.descendingKeySet()).get(1);
            for (ObjectInfo o : versions.headMap(oldestKept, false).values()) {
                // Versions become tombstones, never absent keys (see VersionTombstone); skip those that are.
                if (o.size() > VersionTombstone.MAX_BYTES && now - o.lastModifiedMillis() > logGraceMillis) {
                    garbage.add(o);
                }
            }
            for (ObjectInfo o : snapshots.headMap(oldestKept, false).values()) {
                if (now - o.lastModifiedMillis() > logGraceMillis) {
                    garbage.add(o);
                }
            }
        }
        return garbage;
    }
}
