package io.lakestream.retention;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamLayout;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreProbe;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * GC of orphans: objects under {@code data/} that no committed step references (steps already
 * reclaimed aside: their objects are gone or going, which is {@link BatchGc}'s business), that their producer can no longer commit (a newer epoch fenced it, or the stream is
 * closed: see {@link #mayStillBeCommitted}), and that are older than the orphan grace; and objects
 * a store probe left behind, once as old.
 */
public final class OrphanGc {
    private final ManifestLog log;
    private final long graceMillis;

    /** {@code graceMillis}: how old an unreferenced object must be (by default the stream's {@code orphan_grace_ms}). */
    public OrphanGc(ManifestLog log, long graceMillis) {
        this.log = log;
        this.graceMillis = graceMillis;
    }

    /**
     * One pass; keys that are not Lakestream's are added to {@code unrecognised} and left alone.
     * Committed batches below the floor are not orphans, whether or not {@link BatchGc} ran first.
     */
    public GcReport.Reclaimed run(boolean dryRun, List<String> unrecognised) {
        ObjectStore store = log.store();
        long now = log.env().clock().wallMillis();
        List<ObjectInfo> candidates = new ArrayList<>();
        Set<String> live = BatchGc.liveObjects(log, 0);
        for (ObjectInfo o : store.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Unknown u) {
                unrecognised.add(u.describe());
            } else if (!live.contains(o.key()) && now - o.lastModifiedMillis() > graceMillis) {
                candidates.add(o);
            }
        }
        if (!candidates.isEmpty()) {
            // a commit may have landed since: re-read and spare whatever it references now, and
            // whatever its producer can still commit
            Set<String> liveNow = BatchGc.liveObjects(log, 0);
            ManifestState s = log.state();
            candidates.removeIf(o -> liveNow.contains(o.key()) || mayStillBeCommitted(o.key(), s));
        }
        // Objects a store probe (doctor, stream creation) wrote and could not remove (it died, or
        // its deletes failed): nothing reads them; they go once as old as an orphan would.
        for (ObjectInfo o : store.list(StoreProbe.PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.ProbeObject && now - o.lastModifiedMillis() > graceMillis) {
                candidates.add(o);
            }
        }
        if (!dryRun && !candidates.isEmpty()) {
            store.deleteAll(candidates.stream().map(ObjectInfo::key).toList());
        }
        return GcReport.Reclaimed.of(candidates);
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
}
