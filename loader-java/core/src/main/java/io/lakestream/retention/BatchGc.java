package io.lakestream.retention;

import io.lakestream.log.Changes;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * GC of committed batches below the retention floor: deletes the batch objects of steps in
 * [already reclaimed, floor), then commits a log record moving the "reclaimed below" mark to the
 * floor, so readers asking below it get a clear error. No grace period: the floor is the grace
 * (no consumer's retained checkpoint is below it).
 */
public final class BatchGc {
    private final ManifestLog log;

    public BatchGc(ManifestLog log) {
        this.log = log;
    }

    /**
     * What one pass found (and, unless a dry run, reclaimed).
     *
     * @param floor   the retention floor used (never above the committed steps)
     * @param from    the "reclaimed below" mark before the pass
     * @param objects the batch objects below the floor, with their sizes
     */
    public record Pass(long floor, long from, Map<String, Long> objects) {
        public Pass {
            objects = Map.copyOf(objects);
        }

        public long bytes() {
            return objects.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    public Pass run(boolean dryRun) {
        ManifestState s = log.refresh();
        long floor = Math.min(s.floorStep(), s.committedSteps());
        long from = s.reclaimedBelowStep();
        // What any step at or above the floor names is never deleted, whatever names it below: the
        // log refuses two steps naming one object (ManifestState checks producer sequences), and
        // GC does not rely on that alone.
        Set<String> needed = liveObjects(log, floor);
        Map<String, Long> belowFloor = new HashMap<>();
        for (long step = from; step < floor; step++) {
            TgbEntry e = log.entry(step);
            // Only ever a batch object: the log rejects an entry naming another key, and GC checks again.
            if (StreamLayout.parse(e.object()) instanceof StreamLayout.BatchObject && !needed.contains(e.object())) {
                belowFloor.put(e.object(), e.objectSize());
            }
        }
        if (!dryRun && !belowFloor.isEmpty()) {
            log.store().deleteAll(List.copyOf(belowFloor.keySet()));
        }
        if (!dryRun && floor > from) {
            log.commit("gc", st -> st.reclaimedBelowStep() >= floor ? Changes.NONE : Changes.reclaimedBelow(floor));
        }
        return new Pass(floor, from, belowFloor);
    }

    /** Bytes a pass could reclaim right now. */
    public static long reclaimableBytes(ManifestLog log) {
        ManifestState s = log.state();
        long bytes = 0;
        for (long step = s.reclaimedBelowStep(); step < Math.min(s.floorStep(), s.committedSteps()); step++) {
            bytes += log.entry(step).objectSize();
        }
        return bytes;
    }

    /** The objects committed steps at or above {@code floor} (and the reclaimed mark) name, in the newest state. */
    static Set<String> liveObjects(ManifestLog log, long floor) {
        ManifestState s = log.refresh();
        Set<String> live = new HashSet<>();
        for (long step = Math.max(floor, s.reclaimedBelowStep()); step < s.committedSteps(); step++) {
            live.add(log.entry(step).object());
        }
        return live;
    }
}
