package io.lakestream.retention;

import java.util.List;

/**
 * What one GC pass reclaimed (or, in a dry run, would reclaim).
 *
 * @param floor            the retention floor it used
 * @param batchObjects     batch objects of steps below the floor
 * @param orphanObjects    batch objects never committed, older than the grace period
 * @param logFiles         manifest versions, snapshots and index segments no reader can need
 * @param unrecognisedKeys keys under the stream that are not Lakestream keys, with the reason: left
 *                         alone (never deleted) and reported
 */
public record GcReport(boolean dryRun, long floor, long reclaimedBelowBefore, long batchObjects, long batchBytes,
                       long orphanObjects, long orphanBytes, long logFiles, long logBytes, List<String> unrecognisedKeys) {
    public GcReport {
        unrecognisedKeys = unrecognisedKeys == null ? List.of() : List.copyOf(unrecognisedKeys);
    }

    public GcReport(boolean dryRun, long floor, long reclaimedBelowBefore, long batchObjects, long batchBytes,
                    long orphanObjects, long orphanBytes, long logFiles, long logBytes) {
        this(dryRun, floor, reclaimedBelowBefore, batchObjects, batchBytes, orphanObjects, orphanBytes, logFiles, logBytes, List.of());
    }

    /** What one kind of GC found (and, unless a dry run, reclaimed). */
    public record Reclaimed(long objects, long bytes) {
        static Reclaimed of(java.util.Collection<io.lakestream.store.ObjectInfo> found) {
            return new Reclaimed(found.size(), found.stream().mapToLong(io.lakestream.store.ObjectInfo::size).sum());
        }
    }

    public long objects() {
        return batchObjects + orphanObjects + logFiles;
    }

    public long bytes() {
        return batchBytes + orphanBytes + logBytes;
    }

    public String toJson() {
        return String.format("{\"dry_run\":%s,\"floor\":%d,\"batch_objects\":%d,\"batch_bytes\":%d,\"orphan_objects\":%d,"
                        + "\"orphan_bytes\":%d,\"log_files\":%d,\"log_bytes\":%d,\"objects\":%d,\"bytes\":%d,\"unrecognised_keys\":%d}",
                dryRun, floor, batchObjects, batchBytes, orphanObjects, orphanBytes, logFiles, logBytes, objects(), bytes(),
                unrecognisedKeys.size());
    }
}
