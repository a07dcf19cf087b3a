package io.lakestream.compare;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Command line of {@code ./jmh-benchmarks/compare}. Three presets ({@code --full}, the default,
 * {@code --quick} and {@code --smoke}) set every size; single options override a preset.
 */
record Options(String mode, int shardBytes, int worldSize, List<Integer> producers, int stepsPerProducer, int warmupSteps,
               double latencyRate, double latencySeconds, List<Long> growthSizesFile, List<Long> growthSizesS3, int growthCommits,
               List<Integer> dacProducers, double dacSeconds, int dacShardBytes, Set<String> dacStores, Set<String> sections, Set<String> stores,
               Path out, Path cache, Path tmp, boolean buildCache, List<String> clientJvmOpts) {

    static final List<String> SECTIONS = List.of("ingest", "latency", "fetch", "growth", "dac");

    static final String USAGE = """
            usage: ./jmh-benchmarks/compare [--quick | --full | --smoke] [options]
              --quick               < 3 min on 2 cores: 1-2 producers, short runs, DAC at 1k and the cached 1M stream
              --full                (default) the README's figures: 1,2,4,8 producers, file:// and s3://, DAC to 1M steps and 16 producers
              --smoke               Lakestream on file:// only, tiny sizes, no Kafka (< 30 s): checks the harness works
              --shard-kib N         payload per rank shard (default 256; a step is W x this)
              --world-size W        ranks (default 4)
              --producers 1,2,4,8   producer counts for ingestion
              --steps N             timed steps per producer in ingestion runs
              --latency-rate R      steps per second in the latency runs (open loop, default 25)
              --latency-seconds S   length of each latency run
              --growth-sizes N,...  committed-step sizes for the DAC growth runs on file:// (> 10k: built once and cached)
              --growth-sizes-s3 N,.. the same on s3:// (built fresh every run; empty = skip)
              --dac-producers 1,..  producer counts for the DAC runs
              --dac-seconds S       length of each DAC run
              --dac-stores a,b      stores of the DAC runs: file, s3 (default both; --quick: file)
              --only a,b            sections: ingest, latency, fetch, growth, dac (default all)
              --stores a,b          file, s3, kafka, kafka-flush (default all)
              --out DIR             results folder (default jmh-benchmarks/results)
              --cache DIR           where long DAC streams are kept between runs (default jmh-benchmarks/target/cache)
              --tmp DIR             scratch for streams, Kafka logs and S3 data (default the system temp dir; same disk for all)
              --build-cache         build the cached growth streams (up to the largest --growth-sizes) and exit
              --client-jvm-opts "…" extra JVM options for every producer/reader process (both sides alike)
            """;

    static Options parse(String[] args, Path root) {
        String mode = "full";
        for (String a : args) {
            if (a.equals("--quick") || a.equals("--smoke") || a.equals("--full")) {
                mode = a.substring(2);
            }
        }
        Builder b = new Builder(mode, root);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--quick", "--smoke", "--full" -> { }
                case "--build-cache" -> b.buildCache = true;
                case "-h", "--help" -> throw new UsageException(null);
                default -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException("option " + a + " needs a value");
                    }
                    String v = args[++i];
                    try {
                        switch (a) {
                            case "--shard-kib" -> b.shardBytes = Math.multiplyExact(Integer.parseInt(v), 1024);
                            case "--world-size" -> b.worldSize = Integer.parseInt(v);
                            case "--producers" -> b.producers = ints(v);
                            case "--steps" -> b.steps = Integer.parseInt(v);
                            case "--latency-rate" -> b.latencyRate = Double.parseDouble(v);
                            case "--latency-seconds" -> b.latencySeconds = Double.parseDouble(v);
                            case "--growth-sizes" -> b.growthFile = longs(v);
                            case "--growth-sizes-s3" -> b.growthS3 = longs(v);
                            case "--dac-producers" -> b.dacProducers = ints(v);
                            case "--dac-seconds" -> b.dacSeconds = Double.parseDouble(v);
                            case "--dac-stores" -> b.dacStores = names(v, List.of("file", "s3"), "--dac-stores");
                            case "--only" -> b.sections = names(v, SECTIONS, "--only");
                            case "--stores" -> b.stores = names(v, List.of("file", "s3", "kafka", "kafka-flush"), "--stores");
                            case "--out" -> b.out = Path.of(v);
                            case "--cache" -> b.cache = Path.of(v);
                            case "--tmp" -> b.tmp = Path.of(v);
                            case "--client-jvm-opts" -> b.jvmOpts = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
                            default -> throw new UsageException("unknown option " + a);
                        }
                    } catch (NumberFormatException e) {
                        throw new UsageException("option " + a + ": '" + v + "' is not a number (or list of numbers)");
                    }
                }
            }
        }
        return b.build();
    }

    boolean has(String section) {
        return sections.contains(section);
    }

    boolean store(String s) {
        return stores.contains(s);
    }

    boolean kafka() {
        return store("kafka") || store("kafka-flush");
    }

    private static List<Integer> ints(String v) {
        List<Integer> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                int n = Integer.parseInt(s.trim());
                if (n < 1) {
                    throw new UsageException("counts must be >= 1, got " + n);
                }
                out.add(n);
            }
        }
        return List.copyOf(out);
    }

    private static List<Long> longs(String v) {
        List<Long> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(Long.parseLong(s.trim().toLowerCase().replace("k", "000").replace("m", "000000")));
            }
        }
        return List.copyOf(out);
    }

    private static Set<String> names(String v, List<String> allowed, String option) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : v.split(",")) {
            String n = s.trim();
            if (n.isEmpty()) {
                continue;
            }
            if (!allowed.contains(n)) {
                throw new UsageException(option + ": unknown '" + n + "' (known: " + String.join(", ", allowed) + ")");
            }
            out.add(n);
        }
        return out;
    }

    /** A bad command line: the message, then the usage. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private static Set<String> ordered(Set<String> s) {
        return java.util.Collections.unmodifiableSet(new LinkedHashSet<>(s));
    }

    private static final class Builder {
        final String mode;
        int shardBytes = 256 * 1024;
        int worldSize = 4;
        List<Integer> producers;
        int steps;
        int warmup;
        double latencyRate = 25;
        double latencySeconds;
        List<Long> growthFile;
        List<Long> growthS3;
        int growthCommits;
        List<Integer> dacProducers;
        double dacSeconds;
        int dacShardBytes = 256;
        Set<String> dacStores = new LinkedHashSet<>(List.of("file", "s3"));
        Set<String> sections = new LinkedHashSet<>(SECTIONS);
        Set<String> stores;
        Path out;
        Path cache;
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        boolean buildCache;
        List<String> jvmOpts = List.of();

        Builder(String mode, Path root) {
            this.mode = mode;
            out = root.resolve("jmh-benchmarks/results");
            cache = root.resolve("jmh-benchmarks/target/cache");
            switch (mode) {
                case "quick" -> {
                    producers = List.of(1, 2);
                    steps = 96;
                    warmup = 16;
                    latencySeconds = 5;
                    growthFile = List.of(1_000L, 1_000_000L);
                    growthS3 = List.of();
                    growthCommits = 150;
                    dacProducers = List.of(1, 4);
                    dacSeconds = 2.5;
                    dacStores = new LinkedHashSet<>(List.of("file"));
                    stores = new LinkedHashSet<>(List.of("file", "s3", "kafka", "kafka-flush"));
                }
                case "smoke" -> {
                    shardBytes = 16 * 1024;
                    producers = List.of(1, 2);
                    steps = 16;
                    warmup = 2;
                    latencySeconds = 1;
                    latencyRate = 40;
                    growthFile = List.of(100L);
                    growthS3 = List.of();
                    growthCommits = 20;
                    dacProducers = List.of(2);
                    dacSeconds = 0.5;
                    stores = new LinkedHashSet<>(List.of("file"));
                }
                default -> {
                    producers = List.of(1, 2, 4, 8);
                    steps = 256;
                    warmup = 32;
                    latencySeconds = 45; // 1,125 steps at 25/s: enough for a p99.9
                    growthFile = List.of(1_000L, 10_000L, 100_000L, 1_000_000L);
                    growthS3 = List.of(1_000L, 10_000L);
                    growthCommits = 500;
                    dacProducers = List.of(1, 2, 4, 8, 16);
                    dacSeconds = 5;
                    stores = new LinkedHashSet<>(List.of("file", "s3", "kafka", "kafka-flush"));
                }
            }
        }

        Options build() {
            if (worldSize < 1 || shardBytes < Payload.STAMP_BYTES || shardBytes % 4 != 0) {
                throw new UsageException("--world-size must be >= 1 and --shard-kib >= 1");
            }
            return new Options(mode, shardBytes, worldSize, producers, steps, warmup, latencyRate, latencySeconds,
                    growthFile, growthS3, growthCommits, dacProducers, dacSeconds, dacShardBytes, ordered(dacStores),
                    ordered(sections), ordered(stores), out, cache, tmp, buildCache, jvmOpts);
        }
    }

    @Override
    public String toString() {
        return mode + ": shard " + shardBytes / 1024 + " KiB x W=" + worldSize + ", producers " + producers + ", " + stepsPerProducer
                + " steps each, sections " + sections + ", stores " + stores + ", growth " + growthSizesFile + " / s3 "
                + growthSizesS3 + ", DAC producers " + dacProducers;
    }
}
