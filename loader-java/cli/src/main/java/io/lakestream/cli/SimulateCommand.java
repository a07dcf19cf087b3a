package io.lakestream.cli;

import io.lakestream.log.StreamConfig;
import io.lakestream.testkit.sim.S3Model;
import io.lakestream.testkit.sim.ScaleSim;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "simulate", description = {
        "Lakestream at scale on a simulated S3 (deterministic, on simulated time): producers, rank readers",
        "(one log follower per node), a synchronous trainer, checkpoints and GC run the real code against a",
        "model of S3's latencies, per-prefix request limits (503 SlowDown) and list prices. Prints committed",
        "steps/s, latencies, conflicts, request rates per prefix, 503s and request cost per 1M steps, for the",
        "plain and the hashed data layout; see docs/scale.md for the model and its assumptions."})
final class SimulateCommand implements Callable<Integer> {
    @Option(names = "--ranks", defaultValue = "64", description = "data-parallel ranks (world size)")
    int ranks;

    @Option(names = "--producers", defaultValue = "4")
    int producers;

    @Option(names = "--steps", defaultValue = "1000", description = "global batches to commit and consume")
    long steps;

    @Option(names = "--store", defaultValue = "s3-model", description = "the simulated store (only s3-model)")
    String store;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--layout", defaultValue = "both",
            description = "data layout: producer (data/<producer>/...), hashed (data/<hh>/<producer>/...) or both (one run each)")
    String layout;

    @Option(names = "--ranks-per-node", defaultValue = "8",
            description = "ranks (processes, one per GPU) per node, as a PyTorch job runs them")
    int ranksPerNode;

    @Option(names = "--followers", defaultValue = "job",
            description = "who follows the log: job (rank 0 hands each step's entry to every rank: TorchDataset with a process"
                    + " group), node (each node's first rank, to its node's ranks) or rank (every rank's process: no process group)")
    String followers;

    @Option(names = "--node-fetch", defaultValue = "on",
            description = "on: each node's first rank fetches the node's shards of a step with one ranged GET into shared memory"
                    + " that its ranks read in place (TorchDataset with LOCAL_RANK/LOCAL_WORLD_SIZE); off: one ranged GET per rank")
    String nodeFetch;

    @Option(names = "--prefetch", defaultValue = "4", description = "ranged GETs in flight per rank (steps read ahead)")
    int prefetch;

    @Option(names = "--step-ms", defaultValue = "0", description = "trainer step time (0: consume as fast as data arrives)")
    long stepMs;

    @Option(names = "--produce-ms", defaultValue = "0", description = "producer time to prepare one global batch")
    long produceMs;

    @Option(names = "--idle-s", defaultValue = "10", description = "idle seconds after the last step (follower GETs per idle second)")
    long idleS;

    @Option(names = "--checkpoint-every", defaultValue = "64")
    int checkpointEvery;

    @Option(names = "--max-lag-steps", defaultValue = "512")
    long maxLagSteps;

    @Option(names = "--poll-ms", defaultValue = "1/100",
            description = "log follower MIN/MAX poll interval ms (ReaderOptions' minPollMillis/maxPollMillis, the reader's defaults)")
    String pollMs;

    @Option(names = "--latency", description = "CLASS=P50/P99 in ms, CLASS one of get, put, list, delete (repeatable)")
    Map<String, String> latency;

    @Option(names = "--put-limit", description = "PUT-class requests per second per prefix (default 3500; 0: no limit)")
    Integer putLimit;

    @Option(names = "--get-limit", description = "GET-class requests per second per prefix (default 5500; 0: no limit)")
    Integer getLimit;

    @Spec
    CommandSpec spec;

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    @Option(names = "--table", description = "also print the one-row-per-run table for a single layout")
    boolean table;

    static final String TABLE_HEADER = "| ranks | producers | layout | committed steps/s | consumed steps/s | commit p50 / p99 ms"
            + " | append->visible p50 / p99 ms | lost races | steps per version p50 / max | max PUT/s per prefix"
            + " | max GET/s per prefix (prefix) | 503s | follower _log/ GETs per step / per idle s | $ per 1M steps |\n"
            + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    static String row(ScaleSim.Result r) {
        long attempts = r.commits() + r.conflicts();
        return String.format(Locale.ROOT, "| %d | %d | %s | %.1f | %.1f | %.0f / %.0f | %.0f / %.0f | %.0f%% | %.0f / %d | %d | %d (%s) | %d"
                        + " | %.2f / %.2f | %.2f |", r.options().ranks(), r.options().producers(), r.options().layout(),
                r.stepsPerSecond(), r.consumedPerSecond(), r.commitCall()[0], r.commitCall()[1], r.appendToVisible()[0],
                r.appendToVisible()[1], attempts == 0 ? 0.0 : 100.0 * r.conflicts() / attempts, r.groupSize()[0], r.groupMax(),
                r.putPeak().perSecond(), r.getPeak().perSecond(), r.getPeak().prefix(), r.throttledPut() + r.throttledGet(),
                r.logGetsPerStepPerFollower(), r.logGetsPerIdleSecondPerFollower(), r.costPerMillionSteps());
    }

    @Override
    public Integer call() {
        if (!"s3-model".equals(store)) {
            throw usage("--store '" + store + "' is not supported (only s3-model)");
        }
        S3Model.Config s3 = S3Model.Config.defaults();
        if (latency != null) {
            for (Map.Entry<String, String> e : latency.entrySet()) {
                s3 = s3.withLatency(e.getKey(), S3Model.Latency.parse(e.getValue()));
            }
        }
        s3 = s3.withLimits(putLimit == null ? s3.putLimit() : putLimit, getLimit == null ? s3.getLimit() : getLimit);
        List<String> layouts = switch (layout) {
            case "both" -> List.of(StreamConfig.LAYOUT_PRODUCER, StreamConfig.LAYOUT_HASHED);
            case StreamConfig.LAYOUT_PRODUCER, StreamConfig.LAYOUT_HASHED -> List.of(layout);
            default -> throw usage("--layout '" + layout + "' is not producer, hashed or both");
        };
        ScaleSim.Options base = ScaleSim.Options.defaults(ranks, producers, steps).withSeed(seed).withReaders(ranksPerNode, prefetch)
                .withPacing(stepMs, produceMs).withIdleSeconds(idleS).withS3(s3).withCheckpoints(checkpointEvery, maxLagSteps).withFollowers(followers);
        if (!List.of("on", "off").contains(nodeFetch)) {
            throw usage("--node-fetch '" + nodeFetch + "' is not on or off");
        }
        base = base.withNodeFetch("on".equals(nodeFetch));
        String[] poll = pollMs.split("/");
        if (poll.length != 2) {
            throw usage("--poll-ms '" + pollMs + "' is not MIN/MAX");
        }
        base = base.withPolling(Long.parseLong(poll[0]), Long.parseLong(poll[1]));
        List<ScaleSim.Result> results = new ArrayList<>();
        for (String l : layouts) {
            ScaleSim.Result r = ScaleSim.run(base.withLayout(l));
            results.add(r);
            r.lines().subList(0, r.lines().size() - 1).forEach(System.out::println);
            System.out.println();
        }
        if (results.size() > 1 || table) {
            System.out.println(TABLE_HEADER);
            for (ScaleSim.Result r : results) {
                System.out.println(row(r));
            }
        }
        boolean ok = results.stream().allMatch(ScaleSim.Result::ok);
        // the line issue 15 asks for: the worst of the runs
        long put = results.stream().mapToLong(r -> r.putPeak().perSecond()).max().orElse(0);
        long get = results.stream().mapToLong(r -> r.getPeak().perSecond()).max().orElse(0);
        long slow = results.stream().mapToLong(r -> r.throttledPut() + r.throttledGet()).sum();
        double cost = results.stream().mapToDouble(ScaleSim.Result::costPerMillionSteps).max().orElse(0);
        if (results.size() > 1) {
            System.out.println("(last line: the worst of the " + results.size() + " runs)");
        }
        System.out.println(String.format(Locale.ROOT, "max PUT/s per prefix = %d, max GET/s per prefix = %d, 503s = %d, $ per 1M steps = %.2f",
                put, get, slow, cost));
        return ok ? 0 : Main.EXIT_ERROR;
    }
}
