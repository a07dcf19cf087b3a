package io.lakestream.retention;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Reclaims storage no reader at or above the retention floor can need, one kind of garbage at a
 * time, each with its own grace and its own count in the report (as SlateDB's collectors do):
 * <ol>
 *   <li>{@link BatchGc}: batch objects of steps below the floor, then the "reclaimed below" mark;</li>
 *   <li>{@link OrphanGc}: objects no committed step references that their producer can no longer
 *       commit, older than the orphan grace (by default the stream's {@code orphan_grace_ms});</li>
 *   <li>{@link LogGc}: old versions and snapshots once older than the stream's log grace
 *       ({@link StreamConfig#logGraceMs()}; a smaller grace passed in is raised to it), and index
 *       segments whose steps are all below the reclaimed mark.</li>
 * </ol>
 * Safe to run concurrently with producers, readers and other GC passes: every deletion is of
 * something already unreachable from the newest state, and deletes are idempotent.
 */
public final class GarbageCollector {
    private static final System.Logger LOG = System.getLogger(GarbageCollector.class.getName());

    private final ManifestLog log;
    private final BatchGc batches;
    private final OrphanGc orphans;
    private final LogGc logFiles;

    public GarbageCollector(ManifestLog log, long orphanGraceMillis, long logGraceMillis) {
        this.log = log;
        this.batches = new BatchGc(log);
        this.orphans = new OrphanGc(log, orphanGraceMillis);
        this.logFiles = new LogGc(log, logGraceMillis);
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
        return BatchGc.reclaimableBytes(log);
    }

    public GcReport run(boolean dryRun) {
        List<String> unrecognised = new ArrayList<>();
        BatchGc.Pass b = batches.run(dryRun);
        GcReport.Reclaimed o = orphans.run(dryRun, unrecognised);
        GcReport.Reclaimed l = logFiles.run(dryRun, unrecognised);
        if (!unrecognised.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, unrecognised.size() + " keys of " + log.store().describe() + " are not Lakestream keys"
                    + " and were left alone, e.g. " + unrecognised.get(0));
        }
        return new GcReport(dryRun, b.floor(), b.from(), b.objects().size(), b.bytes(), o.objects(), o.bytes(), l.objects(), l.bytes(),
                List.copyOf(unrecognised));
    }
}
