package io.lakestream.retention;

import io.lakestream.log.Changes;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.Snapshot;
import io.lakestream.log.TgbEntry;
import io.lakestream.format.Json;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reclaims storage no reader at or above the retention floor can need:
 * <ol>
 *   <li>batch objects of steps in [already reclaimed, floor), then a log record that moves the
 *       "reclaimed below" mark to the floor (readers asking below it get a clear error);</li>
 *   <li>orphans: objects under {@code data/} that no committed step references and that are older
 *       than the orphan grace period (a crashed producer's uncommitted writes; the grace must
 *       exceed the longest time between a producer's object write and its commit);</li>
 *   <li>log files: versions below the older of the two newest snapshots, older snapshots, and index
 *       segments neither of those snapshots references, each only once older than
 *       {@link ManifestLog#LOG_GRACE_MS} (a smaller grace passed in is raised to it).</li>
 * </ol>
 * Safe to run concurrently with producers, readers and other GC passes: every deletion is of
 * something already unreachable from the newest state, and deletes are idempotent.
 */
public final class GarbageCollector {
    private static final Pattern VERSION = Pattern.compile("_log/(\\d{20})\\.json");
    private static final Pattern SNAPSHOT = Pattern.compile("_log/(\\d{20})\\.snapshot\\.json");
    private static final Pattern SEGMENT = Pattern.compile("_log/(\\d{20})\\.snapshot\\.steps-\\d{20}\\.json");

    private final ManifestLog log;
    private final long orphanGraceMillis;
    private final long logGraceMillis;

    public GarbageCollector(ManifestLog log, long orphanGraceMillis, long logGraceMillis) {
        this.log = log;
        this.orphanGraceMillis = orphanGraceMillis;
        // Never below the followers' guard (see ManifestLog.LOG_GRACE_MS): a shorter grace could
        // reclaim a version a stale committer then re-creates.
        this.logGraceMillis = Math.max(logGraceMillis, ManifestLog.LOG_GRACE_MS);
    }

    public GarbageCollector(ManifestLog log, long orphanGraceMillis) {
        this(log, orphanGraceMillis, ManifestLog.LOG_GRACE_MS);
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
        Map<String, Long> belowFloor = new HashMap<>();
        for (long step = from; step < floor; step++) {
            TgbEntry e = log.entry(step);
            belowFloor.put(e.object(), e.objectSize());
        }
        long batchBytes = belowFloor.values().stream().mapToLong(Long::longValue).sum();
        if (!dryRun && !belowFloor.isEmpty()) {
            store.deleteAll(List.copyOf(belowFloor.keySet()));
        }
        if (!dryRun && floor > from) {
            final long f = floor;
            log.commit("gc", st -> st.reclaimedBelowStep() >= f ? Changes.NONE
                    : new Changes(Map.of(), List.of(), List.of(), f));
        }

        // 2. orphans: listed objects referenced by no committed step at or above the floor
        long now = System.currentTimeMillis();
        List<ObjectInfo> candidates = new ArrayList<>();
        Set<String> live = liveObjects(floor);
        for (ObjectInfo o : store.list("data/", null, Integer.MAX_VALUE)) {
            if (!live.contains(o.key()) && !belowFloor.containsKey(o.key()) && now - o.lastModifiedMillis() > orphanGraceMillis) {
                candidates.add(o);
            }
        }
        if (!candidates.isEmpty()) {
            // a commit may have landed since: re-read and spare whatever it references now
            Set<String> liveNow = liveObjects(floor);
            candidates.removeIf(o -> liveNow.contains(o.key()));
        }
        long orphanBytes = candidates.stream().mapToLong(ObjectInfo::size).sum();
        if (!dryRun && !candidates.isEmpty()) {
            store.deleteAll(candidates.stream().map(ObjectInfo::key).toList());
        }

        // 3. log files no reader can need
        List<ObjectInfo> logGarbage = logGarbage(now);
        long logBytes = logGarbage.stream().mapToLong(ObjectInfo::size).sum();
        if (!dryRun && !logGarbage.isEmpty()) {
            store.deleteAll(logGarbage.stream().map(ObjectInfo::key).toList());
        }
        return new GcReport(dryRun, floor, from, belowFloor.size(), batchBytes, candidates.size(), orphanBytes,
                logGarbage.size(), logBytes);
    }

    private Set<String> liveObjects(long floor) {
        ManifestState s = log.refresh();
        Set<String> live = new HashSet<>();
        for (long step = Math.max(floor, s.reclaimedBelowStep()); step < s.committedSteps(); step++) {
            live.add(log.entry(step).object());
        }
        return live;
    }

    private List<ObjectInfo> logGarbage(long now) {
        ObjectStore store = log.store();
        TreeMap<Long, ObjectInfo> versions = new TreeMap<>();
        TreeMap<Long, ObjectInfo> snapshots = new TreeMap<>();
        List<ObjectInfo> segments = new ArrayList<>();
        for (ObjectInfo o : store.list(ManifestLog.LOG_PREFIX, null, Integer.MAX_VALUE)) {
            Matcher m = VERSION.matcher(o.key());
            if (m.matches()) {
                versions.put(Long.parseLong(m.group(1)), o);
            } else if ((m = SNAPSHOT.matcher(o.key())).matches()) {
                snapshots.put(Long.parseLong(m.group(1)), o);
            } else if (SEGMENT.matcher(o.key()).matches()) {
                segments.add(o);
            }
        }
        if (snapshots.size() < 2) {
            return List.of();
        }
        // Keep the two newest snapshots (a reader may be loading the older one right now).
        List<Long> kept = new ArrayList<>(snapshots.descendingKeySet()).subList(0, 2);
        long oldestKept = kept.get(1);
        Set<String> referenced = new HashSet<>();
        for (long v : kept) {
            Snapshot snap = Json.read(store.get(ManifestLog.snapshotKey(v)), Snapshot.class, log.where(ManifestLog.snapshotKey(v)));
            for (Snapshot.IndexSegment seg : snap.segments()) {
                referenced.add(seg.key());
            }
        }
        List<ObjectInfo> garbage = new ArrayList<>();
        for (Map.Entry<Long, ObjectInfo> e : versions.headMap(oldestKept, false).entrySet()) {
            if (now - e.getValue().lastModifiedMillis() > logGraceMillis) {
                garbage.add(e.getValue());
            }
        }
        for (Map.Entry<Long, ObjectInfo> e : snapshots.headMap(oldestKept, false).entrySet()) {
            if (now - e.getValue().lastModifiedMillis() > logGraceMillis) {
                garbage.add(e.getValue());
            }
        }
        for (ObjectInfo o : segments) {
            Matcher m = SEGMENT.matcher(o.key());
            m.matches();
            long createdBy = Long.parseLong(m.group(1));
            if (!referenced.contains(o.key()) && createdBy < oldestKept && now - o.lastModifiedMillis() > logGraceMillis) {
                garbage.add(o);
            }
        }
        return garbage;
    }
}
