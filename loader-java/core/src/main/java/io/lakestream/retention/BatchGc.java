package io.lakestream.retention;

import io.lakestream.log.Changes;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * GC of committed batches below the retention floor: commits a log record moving the "reclaimed
 * below" mark to the floor (readers asking below it get a clear error; consumers can no longer
 * register below it), then deletes the batch objects of steps in [already reclaimed, mark). No
 * grace period: the floor is the grace (no consumer's retained checkpoint is below it).
 */
public final class BatchGc {
    private final ManifestLog log;

    public BatchGc(ManifestLog log) {
        this.log = log;
    }

    /**
     * What one pass found (and, unless a dry run, reclaimed).
     *
     * @param floor   the retention floor used (never above the committed steps): the reclaimed
     *                mark after the pass (lower than the floor seen first if a consumer registered
     *                below it meanwhile)
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
        // the mark that no step at or above it names: OrphanGc (of a later pass) deletes them once
        // the orphan grace has passed.
        long mark = floor;
        if (!dryRun && floor > from) {
            long[] committed = {floor};
            log.commit("gc", st -> {
                committed[0] = Math.min(floor, Math.min(st.floorStep(), st.committedSteps()));
                return st.reclaimedBelowStep() >= committed[0] ? Changes.NONE : Changes.reclaimedBelow(committed[0]);
            });
            mark = Math.max(from, committed[0]);
        }
        // What any step at or above the mark names is never deleted, whatever names it below: the
        // log refuses two steps naming one object (ManifestState checks producer sequences), and
        // GC does not rely on that alone.
        Set<String> needed = liveObjects(log, mark);
        Map<String, Long> belowMark = new HashMap<>();
        for (long step = from; step < mark; step++) {
            TgbEntry e = below.get((int) (step - from));
            // Only ever a batch object: the log rejects an entry naming another key, and GC checks again.
            if (StreamLayout.parse(e.object()) instanceof StreamLayout.BatchObject && !needed.contains(e.object())) {
                belowMark.put(e.object(), e.objectSize());
            }
        }
        if (!dryRun && !belowMark.isEmpty()) {
            log.store().deleteAll(List.copyOf(belowMark.keySet()));
        }
        return new Pass(mark, from, belowMark);
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
