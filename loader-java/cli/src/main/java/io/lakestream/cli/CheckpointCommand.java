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
        "Idempotent; refuses a step that was never committed or is older than the newest checkpoint.",
        "With --consumer NAME the checkpoint is that consumer's (an eval job, a reference run): its first one registers it",
        "at STEP, holding the retention floor there (also below the current floor, unless GC has reclaimed STEP: then it is",
        "refused, naming the lowest step still readable); --remove removes the consumer (it no longer holds the floor)."})
final class CheckpointCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--step", description = "the checkpoint's step (required unless --remove)")
    Long step;

    @Option(names = "--consumer", description = "the consumer recording it (default: the default consumer)")
    String consumer;

    @Option(names = "--remove", description = "remove --consumer and its checkpoints instead of recording one")
    boolean remove;

    @Option(names = "--id", description = "checkpoint id (default: step-STEP)")
    String id;

    @Override
    public Integer call() {
        try (ObjectStore store = ObjectStores.open(stream, false)) {
            ManifestLog log = ManifestLog.open(store, StreamEnv.fromEnvironment());
            if (remove) {
                if (consumer == null) {
                    throw new IllegalArgumentException("--remove needs --consumer NAME");
                }
                CommitResult r = Checkpoints.remove(log, consumer);
                System.out.printf("{\"consumer\":\"%s\",\"removed\":%s,\"version\":%d,\"floor_step\":%d}%n", consumer,
                        r.committed(), r.version(), r.state().floorStep());
                return 0;
            }
            if (step == null) {
                throw new IllegalArgumentException("--step STEP is required (or --consumer NAME --remove)");
            }
            CommitResult r = Checkpoints.record(log, step, id, consumer);
            System.out.printf("{\"step\":%d,\"recorded\":%s,\"version\":%d,\"floor_step\":%d}%n", step, r.committed(), r.version(),
                    r.state().floorStep());
            return 0;
        }
    }
}
