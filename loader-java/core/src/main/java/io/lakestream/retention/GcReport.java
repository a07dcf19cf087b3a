package io.lakestream.retention;

/**
 * What one GC pass reclaimed (or, in a dry run, would reclaim).
 *
 * @param floor            the retention floor it used
 * @param batchObjects     batch objects of steps below the floor
 * @param orphanObjects    batch objects never committed, older than the grace period
 * @param logFiles         manifest versions, snapshots and index segments no reader can need
 */
public record GcReport(boolean dryRun, long floor, long reclaimedBelowBefore, long batchObjects, long batchBytes,
                       long orphanObjects, long orphanBytes, long logFiles, long logBytes) {
    public long objects() {
        return batchObjects + orphanObjects + logFiles;
    }

    public long bytes() {
        return batchBytes + orphanBytes + logBytes;
    }

    public String toJson() {
        return String.format("{\"dry_run\":%s,\"floor\":%d,\"batch_objects\":%d,\"batch_bytes\":%d,\"orphan_objects\":%d,"
                        + "\"orphan_bytes\":%d,\"log_files\":%d,\"log_bytes\":%d,\"objects\":%d,\"bytes\":%d}",
                dryRun, floor, batchObjects, batchBytes, orphanObjects, orphanBytes, logFiles, logBytes, objects(), bytes());
    }
}
