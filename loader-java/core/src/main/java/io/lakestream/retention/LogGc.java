package io.lakestream.retention;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.VersionTombstone;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * GC of log files no reader can need: versions below the older of the two newest snapshots (they
 * become tombstones, never absent keys: see {@link VersionTombstone}) and older snapshots, each
 * only once older than the log grace; and index segments whose steps are all below the reclaimed
 * mark, at once.
 */
public final class LogGc {
    private final ManifestLog log;
    private final long graceMillis;

    /**
     * {@code graceMillis} is raised to the stream's log grace ({@link StreamConfig#logGraceMs()}),
     * which every follower's guard relies on: a shorter one could reclaim a version a stale
     * committer then re-creates.
     */
    public LogGc(ManifestLog log, long graceMillis) {
        this.log = log;
        this.graceMillis = Math.max(graceMillis, log.config().logGraceMs());
    }

    /** One pass; keys that are not Lakestream's are added to {@code unrecognised} and left alone. */
    public GcReport.Reclaimed run(boolean dryRun, List<String> unrecognised) {
        ObjectStore store = log.store();
        List<ObjectInfo> garbage = garbage(log.env().clock().wallMillis(), unrecognised);
        if (!dryRun && !garbage.isEmpty()) {
            List<String> deletable = new ArrayList<>();
            for (ObjectInfo o : garbage) {
                if (StreamLayout.parse(o.key()) instanceof StreamLayout.Version v) {
                    store.put(o.key(), VersionTombstone.bytes(v.version()));
                } else {
                    deletable.add(o.key());
                }
            }
            store.deleteAll(deletable);
        }
        return GcReport.Reclaimed.of(garbage);
    }

    private List<ObjectInfo> garbage(long now, List<String> unrecognised) {
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
        List<ObjectInfo> garbage = new ArrayList<>(segmentsBelowTheMark(unrecognised));
        if (snapshots.size() >= 2) {
            // Keep the two newest snapshots (a reader may be loading the older one right now) and
            // every version after the older one.
            long oldestKept = new ArrayList<>(snapshots.descendingKeySet()).get(1);
            for (ObjectInfo o : versions.headMap(oldestKept, false).values()) {
                // Versions become tombstones, never absent keys (see VersionTombstone); skip those that are.
                if (o.size() > VersionTombstone.MAX_BYTES && now - o.lastModifiedMillis() > graceMillis) {
                    garbage.add(o);
                }
            }
            for (ObjectInfo o : snapshots.headMap(oldestKept, false).values()) {
                if (now - o.lastModifiedMillis() > graceMillis) {
                    garbage.add(o);
                }
            }
        }
        return garbage;
    }

    /**
     * Index segments whose every step is below what was reclaimed, at once (no log grace): only
     * readers below the floor could want them, and those get a clear error anyway (a reader
     * holding an older state re-confirms the head when a segment is missing, ManifestLog#entry).
     * A segment ends at the next multiple of index_segment_steps or earlier (format version 2
     * closes segments at a byte bound): never after the next listed segment starts. Judging by
     * the multiple alone kept every early-closed segment below the mark for ever.
     */
    private List<ObjectInfo> segmentsBelowTheMark(List<String> unrecognised) {
        long n = log.config().indexSegmentSteps();
        long reclaimed = log.state().reclaimedBelowStep();
        List<ObjectInfo> segments = new ArrayList<>();
        List<Long> firsts = new ArrayList<>();
        for (ObjectInfo o : log.store().list(StreamLayout.INDEX_PREFIX, null, Integer.MAX_VALUE)) {
            switch (StreamLayout.parse(o.key())) {
                case StreamLayout.IndexSegment seg -> {
                    segments.add(o);
                    firsts.add(seg.firstStep());
                }
                case StreamLayout.Unknown u -> unrecognised.add(u.describe());
                default -> unrecognised.add(o.key() + " (not an index segment)");
            }
        }
        List<ObjectInfo> garbage = new ArrayList<>();
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
        return garbage;
    }
}
