package io.lakestream.compare;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Command line of {@code ./jmh-benchmarks/compare}. Three presets ({@code --full}, the default,
 * {@code --quick} and {@code --smoke}) set every size; single options override a preset.
 *
 * <p>Method (every mode): each figure comes from {@code repeats} interleaved repeats (the order of
 * the cases in a repeat shuffled with {@code seed}, Lakestream and Kafka cases alternating); a
 * throughput window lasts {@code windowSeconds} or {@code windowBytes}, whichever comes first,
 * after a warm-up that runs until two consecutive warm-up chunks agree; a repeat that starts with
 * the 1-minute load average above {@code loadThreshold} is rerun (at most {@code maxReruns} times).
 */
record Options(String mode, int shardBytes, int worldSize, List<Integer> producers, int repeats, double windowSeconds,
               long windowBytes, double warmupMaxSeconds, double latencyRate, int latencySamples, double latencyWarmupSeconds, int fetchSteps,
               List<Long> growthVersions, int growthGroup, List<Long> growthSizesS3, int growthCommits,
               List<Integer> dacProducers, double dacSeconds, int dacShardBytes, Set<String> dacStores, Set<String> sections,
               Set<String> stores, List<Integer> lingerGrid, List<String> compressionGrid, long seed, double loadThreshold,
               int maxReruns, Path out, boolean publish, Path cache, Path tmp, boolean buildCache, String clientHeap,
               List<String> clientJvmOpts, boolean jfr) {

    static final List<String> SECTIONS = List.of("ingest", "latency", "fetch", "growth", "dac");
    /** Kafka tuned (the grid's best producer, large fetches) and Kafka at its client defaults; each at both durabilities. */
    /**
     * Every side. {@code file-direct} is Lakestream file:// with {@code ?direct_io=true} (batch
     * objects written with O_DIRECT), an ingestion-only side: what an operator sets on a producer
     * machine whose readers run elsewhere; the latency and fetch sections read on this machine,
     * from the page cache that direct writes skip, so they measure plain file:// only.
     */
    static final List<String> STORES = List.of("file", "file-direct", "s3", "kafka", "kafka-flush", "kafka-default", "kafka-default-flush");

    static final String USAGE = """
            usage: ./jmh-benchmarks/compare [--quick | --full | --smoke] [options]
              --quick               < 5 min on 2 cores: 1 producer, 3 repeats, short windows, file:// vs tuned (and, ingestion only, default)
                                    Kafka with flush.messages=1, commit rate at 1k and the cached 100k-version log
              --full                (default) the README's figures: 1,2,4,8 producers, every store, 5 repeats of >= 20 s or 2 GiB
              --smoke               Lakestream on file:// only, tiny sizes, no Kafka (< 1 min): checks the harness works
              --publish             write to jmh-benchmarks/results (the README's files) instead of jmh-benchmarks/target/results
              --out DIR             results folder (overrides both)
              --repeats N           interleaved repeats per figure
              --seed S              seed of the case order and of the bootstrap (default: the clock; recorded)
              --window-seconds S    a throughput window ends after S seconds ...
              --window-mib M        ... or M MiB, whichever comes first
              --load-threshold L    rerun a repeat that starts with the 1-minute load average above L
              --max-reruns N        at most N reruns per repeat
              --linger-grid 0,5,20  Kafka linger.ms values tried (tuned Kafka; the best is used and reported)
              --compression-grid none,lz4   Kafka compression.type values tried
              --shard-kib N         payload per rank shard (default 256; a step is W x this)
              --world-size W        ranks (default 4)
              --producers 1,2,4,8   producer counts for ingestion
              --latency-rate R      steps per second in the latency runs (open loop, default 50)
              --latency-samples N   measured steps per latency repeat (after the warm-up steps)
              --latency-warmup-seconds S  steps not measured at the start of a latency repeat (full: 6 s, quick: 2 s;
                                    at least 1/8 of the samples): both sides' JITs still settle in the first seconds
              --fetch-steps N       steps each fetch repeat drains
              --growth-versions N,...  manifest versions of the logs the commit rate is measured on (> 1k: built once, cached)
              --growth-group G      steps per version in those logs (default 10: 100k versions = 1M steps)
              --growth-commits N    commits timed per growth repeat (full: 2,000, about 7 s; logs of 1k versions are built
                                    fresh for every repeat, so each starts at 1k)
              --growth-sizes-s3 N,.. committed-step sizes on s3:// (built fresh every run; empty = skip)
              --dac-producers 1,..  producer counts for the DAC runs
              --dac-seconds S       length of each DAC run
              --dac-stores a,b      stores of the DAC runs: file, s3
              --only a,b            sections: ingest, latency, fetch, growth, dac (default all)
              --stores a,b          file, file-direct (ingestion only), s3, kafka, kafka-flush, kafka-default, kafka-default-flush
              --cache DIR           where the long logs are kept between runs (default jmh-benchmarks/target/cache)
              --tmp DIR             scratch for streams, Kafka logs and S3 data (default the system temp dir; same disk for all)
              --build-cache         build the cached growth logs (every --growth-versions above 1k) and exit
              --client-heap SIZE    -Xmx of every producer and reader process, both sides (default 512m)
              --client-jvm-opts "…" extra JVM options for every producer/reader process (both sides alike)
              --jfr                 flight-record the Lakestream latency runs' producer and reader (settings=profile) into
                                    <out>/jfr/, and list each run's slowest steps, to see what the tail waits for
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
                case "--publish" -> b.publish = true;
                case "--jfr" -> b.jfr = true;
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
                            case "--repeats" -> b.repeats = positive(Integer.parseInt(v), a);
                            case "--seed" -> b.seed = Long.parseLong(v);
                            case "--window-seconds" -> b.windowSeconds = Double.parseDouble(v);
                            case "--window-mib" -> b.windowBytes = Long.parseLong(v) << 20;
                            case "--load-threshold" -> b.loadThreshold = Double.parseDouble(v);
                            case "--max-reruns" -> b.maxReruns = Integer.parseInt(v);
                            case "--linger-grid" -> b.lingerGrid = zeroOrMore(v);
                            case "--compression-grid" -> b.compressionGrid = List.copyOf(names(v, List.of("none", "lz4", "zstd", "snappy", "gzip"),
                                    a));
                            case "--latency-rate" -> b.latencyRate = Double.parseDouble(v);
                            case "--latency-samples" -> b.latencySamples = positive(Integer.parseInt(v), a);
                            case "--latency-warmup-seconds" -> b.latencyWarmupSeconds = Double.parseDouble(v);
                            case "--fetch-steps" -> b.fetchSteps = positive(Integer.parseInt(v), a);
                            case "--growth-versions" -> b.growthVersions = longs(v);
                            case "--growth-group" -> b.growthGroup = positive(Integer.parseInt(v), a);
                            case "--growth-commits" -> b.growthCommits = positive(Integer.parseInt(v), a);
                            case "--growth-sizes-s3" -> b.growthS3 = longs(v);
                            case "--dac-producers" -> b.dacProducers = ints(v);
                            case "--dac-seconds" -> b.dacSeconds = Double.parseDouble(v);
                            case "--dac-stores" -> b.dacStores = names(v, List.of("file", "s3"), "--dac-stores");
                            case "--only" -> b.sections = names(v, SECTIONS, "--only");
                            case "--stores" -> b.stores = names(v, STORES, "--stores");
                            case "--out" -> b.out = Path.of(v);
                            case "--cache" -> b.cache = Path.of(v);
                            case "--tmp" -> b.tmp = Path.of(v);
                            case "--client-heap" -> b.clientHeap = v;
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
        return stores.stream().anyMatch(s -> s.startsWith("kafka"));
    }

    /** The JVM options of every producer and reader process, Lakestream's and Kafka's alike. */
    List<String> clientJvm() {
        List<String> out = new ArrayList<>();
        out.add("-Xmx" + clientHeap);
        out.addAll(clientJvmOpts);
        return out;
    }

    private static int positive(int n, String option) {
        if (n < 1) {
            throw new UsageException(option + " must be >= 1, got " + n);
        }
        return n;
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

    private static List<Integer> zeroOrMore(String v) {
        List<Integer> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                int n = Integer.parseInt(s.trim());
                if (n < 0) {
                    throw new UsageException("values must be >= 0, got " + n);
                }
                out.add(n);
            }
        }
        if (out.isEmpty()) {
            throw new UsageException("a grid needs at least one value");
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
        final Path root;
        int shardBytes = 256 * 1024;
        int worldSize = 4;
        List<Integer> producers;
        int repeats;
        double windowSeconds;
        long windowBytes;
        double warmupMaxSeconds;
        double latencyRate = 50;
        int latencySamples;
        double latencyWarmupSeconds;
        int fetchSteps;
        List<Long> growthVersions;
        int growthGroup = 10;
        List<Long> growthS3;
        int growthCommits;
        List<Integer> dacProducers;
        double dacSeconds;
        int dacShardBytes = 256;
        Set<String> dacStores = new LinkedHashSet<>(List.of("file", "s3"));
        Set<String> sections = new LinkedHashSet<>(SECTIONS);
        Set<String> stores;
        List<Integer> lingerGrid;
        List<String> compressionGrid = List.of("none", "lz4");
        long seed = System.currentTimeMillis();
        double loadThreshold;
        int maxReruns;
        Path out;
        boolean publish;
        Path cache;
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        boolean buildCache;
        String clientHeap = "512m";
        List<String> jvmOpts = List.of();
        boolean jfr;

        Builder(String mode, Path root) {
            this.mode = mode;
            this.root = root;
            cache = root.resolve("jmh-benchmarks/target/cache");
            int cores = Runtime.getRuntime().availableProcessors();
            loadThreshold = cores + 1.0; // our own two busy processes make ~2 on a quiet 2-core machine
            switch (mode) {
                case "quick" -> {
                    producers = List.of(1);
                    repeats = 3;
                    windowSeconds = 2;
                    windowBytes = 512L << 20;
                    warmupMaxSeconds = 3;
                    latencySamples = 100;
                    latencyWarmupSeconds = 2;
                    fetchSteps = 128;
                    growthVersions = List.of(1_000L, 100_000L);
                    growthS3 = List.of();
                    growthCommits = 150;
                    dacProducers = List.of(1, 4);
                    dacSeconds = 2.5;
                    dacStores = new LinkedHashSet<>(List.of("file"));
                    sections = new LinkedHashSet<>(List.of("ingest", "latency", "fetch", "growth"));
                    stores = new LinkedHashSet<>(List.of("file", "file-direct", "kafka-flush", "kafka-default-flush"));
                    lingerGrid = List.of(0, 20);
                    maxReruns = 1;
                }
                case "smoke" -> {
                    shardBytes = 16 * 1024;
                    producers = List.of(2);
                    repeats = 2;
                    windowSeconds = 0.3;
                    windowBytes = 4L << 20;
                    warmupMaxSeconds = 0.5;
                    latencyRate = 40;
                    latencySamples = 20;
                    latencyWarmupSeconds = 0;
                    fetchSteps = 16;
                    growthVersions = List.of(20L, 40L);
                    growthGroup = 2;
                    growthS3 = List.of();
                    growthCommits = 20;
                    dacProducers = List.of(2);
                    dacSeconds = 0.5;
                    stores = new LinkedHashSet<>(List.of("file"));
                    lingerGrid = List.of(0);
                    loadThreshold = Double.POSITIVE_INFINITY; // a test run is not a measurement
                    maxReruns = 0;
                }
                default -> {
                    producers = List.of(1, 2, 4, 8);
                    repeats = 5;
                    windowSeconds = 20;
                    windowBytes = 2L << 30;
                    warmupMaxSeconds = 10;
                    latencySamples = 420; // x 5 repeats: 2,100 steps per side
                    // 1 s (52 steps) left both sides' p50 25-45 % higher in the first fifth of the
                    // measured steps than in the last (session 10's runs): the JITs still settling
                    latencyWarmupSeconds = 6;
                    fetchSteps = 512; // x 4 ranks x 5 repeats: 10,240 takes per side
                    growthVersions = List.of(1_000L, 10_000L, 100_000L);
                    growthS3 = List.of(1_000L, 10_000L);
                    growthCommits = 2_000; // ~7 s: 500 (~1.7 s) let a few 100 ms fsync stalls move a repeat by 10-20 %
                    dacProducers = List.of(1, 2, 4, 8, 16);
                    dacSeconds = 5;
                    stores = new LinkedHashSet<>(STORES);
                    lingerGrid = List.of(0, 5, 20, 100);
                    maxReruns = 2;
                }
            }
        }

        Options build() {
            if (worldSize < 1 || shardBytes < Payload.STAMP_BYTES || shardBytes % 4 != 0) {
                throw new UsageException("--world-size must be >= 1 and --shard-kib >= 1");
            }
            Path o = out != null ? out : root.resolve(publish ? "jmh-benchmarks/results" : "jmh-benchmarks/target/results");
            return new Options(mode, shardBytes, worldSize, producers, repeats, windowSeconds, windowBytes, warmupMaxSeconds,
                    latencyRate, latencySamples, latencyWarmupSeconds, fetchSteps, growthVersions, growthGroup, growthS3, growthCommits, dacProducers,
                    dacSeconds, dacShardBytes, ordered(dacStores), ordered(sections), ordered(stores), lingerGrid, compressionGrid,
                    seed, loadThreshold, maxReruns, o, publish, cache, tmp, buildCache, clientHeap, jvmOpts, jfr);
        }
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s: shard %d KiB x W=%d, producers %s, %d repeats (seed %d), windows %.0f s or %d MiB, "
                        + "sections %s, stores %s, growth versions %s x %d steps, Kafka grid linger.ms %s x compression %s, "
                        + "client heap -Xmx%s, rerun above load %.1f (at most %d times)",
                mode, shardBytes / 1024, worldSize, producers, repeats, seed, windowSeconds, windowBytes >> 20, sections, stores,
                growthVersions, growthGroup, lingerGrid, compressionGrid, clientHeap, loadThreshold, maxReruns);
    }
}
