package io.lakestream.cli;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.retention.GcReport;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "gc", description = {
        "Reclaim batches below the retention floor, orphaned batch objects older than the grace",
        "period, and log files no reader can need. Safe while producers and readers run."})
final class GcCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--dry-run", description = "report what would be reclaimed, delete nothing")
    boolean dryRun;

    @Option(names = "--orphan-grace-s",
            description = "only delete uncommitted objects older than this (default: the stream's orphan_grace_ms)")
    Double orphanGraceS;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store, StreamEnv.fromEnvironment());
            GarbageCollector gc = orphanGraceS == null ? new GarbageCollector(log)
                    : new GarbageCollector(log, Math.round(orphanGraceS * 1000));
            GcReport r = gc.run(dryRun);
            System.out.println(r.toJson());
            System.err.printf("gc%s: floor step %d; %s %d objects, %.1f MB (%d batches below the floor, %d orphans, %d log files)%n",
                    dryRun ? " (dry run)" : "", r.floor(), dryRun ? "would reclaim" : "reclaimed", r.objects(), r.bytes() / 1e6,
                    r.batchObjects(), r.orphanObjects(), r.logFiles());
            return 0;
        }
    }
}
