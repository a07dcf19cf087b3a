package io.lakestream.cli;

import io.lakestream.StreamEnv;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.retention.Checkpoints;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "checkpoint", description = {
        "Record a durable training checkpoint at STEP (the next step the trainer will consume).",
        "Idempotent; refuses a step that was never committed or is older than the newest checkpoint."})
final class CheckpointCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--step", required = true)
    long step;

    @Option(names = "--id", description = "checkpoint id (default: step-STEP)")
    String id;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store, StreamEnv.fromEnvironment());
            CommitResult r = Checkpoints.record(log, step, id);
            System.out.printf("{\"step\":%d,\"recorded\":%s,\"version\":%d,\"floor_step\":%d}%n", step, r.committed(), r.version(),
                    r.state().floorStep());
            return 0;
        }
    }
}
