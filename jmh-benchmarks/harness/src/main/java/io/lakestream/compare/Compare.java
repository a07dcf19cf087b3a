package io.lakestream.compare;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code ./jmh-benchmarks/compare}: Lakestream (file:// and s3://) against a real Kafka broker on
 * this machine, in one run, with the same pre-generated payload on the same disk. Every client
 * is its own child JVM (so CPU and RSS are charged per process from /proc); the broker and the
 * S3 server are child JVMs too. Writes {@code compare-<mode>.json}, {@code .md} and PNG plots to
 * the results folder and ends with the one-line summary.
 *
 * <p>It measures whatever the library does with its shipped defaults: rerun it unchanged after
 * producer, reader or commit changes.
 */
public final class Compare {
    /** Growth streams up to this size are built fresh in every run; larger ones are cached. */
    private static final long FRESH_GROWTH_STEPS = 10_000;
    /** Growth measurements per size (--smoke: 1), round robin over the sizes; the median is reported. */
    private static final int GROWTH_ROUNDS = 3;
    private static final long STARTED = System.nanoTime();

    private final Options o;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private Path tmp;
    private KafkaBroker kafka;
    private Child s3;
    private int names;

    private Compare(Options o) {
        this.o = o;
    }

    public static void main(String[] args) {
        Path root = Path.of(System.getProperty("lakestream.root", ".")).toAbsolutePath().normalize();
        Options o;
        try {
            o = Options.parse(args, root);
        } catch (Options.UsageException e) {
            if (e.getMessage() != null) {
                System.err.println("compare: " + e.getMessage());
            }
            System.err.print(Options.USAGE);
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        try {
            new Compare(o).run();
            System.exit(0);
        } catch (Exception e) {
            e.printStackTrace();
            System.err.println("compare: FAILED: " + e.getMessage());
            System.exit(1);
        }
    }

    private void run() throws Exception {
        long t0 = System.nanoTime();
        say("%s; load average %s", o, ProcStat.loadAverage());
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("mode", o.mode());
        meta.put("date", Instant.now().toString());
        meta.put("shard_bytes", o.shardBytes());
        meta.put("world_size", o.worldSize());
        meta.put("step_bytes", (long) o.shardBytes() * o.worldSize());
        meta.put("cores", Runtime.getRuntime().availableProcessors());
        meta.put("jdk", System.getProperty("java.version"));
        meta.put("load_start", ProcStat.loadAverage());
        meta.put("client_jvm_opts", String.join(" ", o.clientJvmOpts()));
        results.put("meta", meta);
        Files.createDirectories(o.tmp());
        tmp = Files.createTempDirectory(o.tmp(), "lakestream-compare-");
        if (o.buildCache()) {
            try {
                for (long n : o.growthSizesFile()) {
                    if (n > FRESH_GROWTH_STEPS) {
                        cachedGrowthStream(n, true);
                    }
                }
            } finally {
                deleteTree(tmp);
            }
            return;
        }
        boolean ok = false;
        try {
            boolean dataSections = o.has("ingest") || o.has("latency") || o.has("fetch");
            if (o.kafka() && dataSections) {
                say("starting Kafka 4.4 broker (KRaft, one node) under %s", tmp);
                kafka = KafkaBroker.start(tmp.resolve("kafka"));
            }
            if (o.store("s3") && (dataSections || (o.has("dac") && o.dacStores().contains("s3"))
                    || (o.has("growth") && !o.growthSizesS3().isEmpty()))) {
                say("starting the embedded S3 server (S3Proxy, filesystem-nio2) under %s", tmp);
                s3 = Child.start("s3-server", List.of("-Djava.io.tmpdir=" + tmp, "-Xmx1g"), io.lakestream.testkit.s3.S3ServerProcess.class.getName(), List.of(),
                        tmp.resolve("s3-server.log"));
                s3.expect("READY", 120_000);
            }
            Map<String, Target> kept = new LinkedHashMap<>();
            if (o.has("ingest")) {
                ingest(kept);
            }
            if (o.has("latency")) {
                latency();
            }
            if (o.has("fetch")) {
                fetch(kept);
            }
            if (o.has("growth")) {
                growth();
            }
            if (o.has("dac")) {
                dac();
            }
            if (kafka != null) {
                results.put("kafka_broker_peak_rss_mb", kafka.process().peakRssBytes() / 1e6);
            }
            if (s3 != null) {
                results.put("s3_server_peak_rss_mb", s3.peakRssBytes() / 1e6);
            }
            ok = true;
        } finally {
            if (kafka != null) {
                kafka.close();
            }
            if (s3 != null) {
                s3.close();
            }
            if (ok) {
                deleteTree(tmp);
            } else {
                say("kept %s for its logs (*.log, kafka/broker*.log)", tmp);
            }
        }
        meta.put("load_end", ProcStat.loadAverage());
        meta.put("wall_s", (System.nanoTime() - t0) / 1e9);
        Files.createDirectories(o.out());
        Path json = o.out().resolve("compare-" + o.mode() + ".json");
        Worker.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), results);
        Summary summary = new Summary(results, o);
        Path md = o.out().resolve("compare-" + o.mode() + ".md");
        Files.writeString(md, summary.markdown());
        List<Path> pngs = Charts.write(results, o.out(), "compare-" + o.mode());
        say("wrote %s, %s and %d plots", json, md, pngs.size());
        System.out.print(summary.targetsText());
        System.out.println(summary.finalLine());
    }

    // ------------------------------------------------------------------ sections

    /** Ingestion MB/s, CPU and RSS per store and producer count. The smallest count's data is kept for fetch. */
    private void ingest(Map<String, Target> kept) throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("ingest", section);
        int keepN = o.producers().stream().min(Integer::compare).orElse(1);
        for (String store : stores(true)) {
            Map<String, Object> byN = new LinkedHashMap<>();
            section.put(store, byN);
            for (int n : o.producers()) {
                Target t = target(store, "ingest" + n);
                Map<String, Object> cfg = t.cfg(o);
                cfg.put("producers", n);
                cfg.put("steps", o.stepsPerProducer());
                cfg.put("warmup", o.warmupSteps());
                Map<String, Object> r = runWorker(store + "-produce-" + n, t.produceMode(), cfg, t.server);
                perGb(r, "bytes");
                byN.put(Integer.toString(n), r);
                say("ingest %-11s %2d producer(s): %8.1f MB/s, client %.2f CPU-s/GB, +server %.2f, producer RSS %.0f MB", store, n,
                        num(r, "mb_per_s"), num(r, "client_cpu_s_per_gb"), num(r, "total_cpu_s_per_gb"), num(r, "client_peak_rss_mb"));
                if (n == keepN && !kept.containsKey(store)) {
                    t.written = (long) (o.warmupSteps() + o.stepsPerProducer()) * n;
                    kept.put(store, t);
                } else {
                    t.drop();
                }
            }
        }
    }

    /** Append→visible latency: a paced producer process and a reader process with every rank. */
    private void latency() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("latency", section);
        int steps = Math.max(20, (int) Math.round(o.latencyRate() * o.latencySeconds()));
        int skip = Math.max(5, steps / 10);
        List<String> variants = new ArrayList<>();
        for (String s : stores(true)) {
            variants.add(s);
            if (s.equals("file")) {
                variants.add("file-commit-each");
            }
        }
        for (String v : variants) {
            String store = v.equals("file-commit-each") ? "file" : v;
            Target t = target(store, "latency");
            Map<String, Object> pcfg = t.cfg(o);
            pcfg.put("producers", 1);
            pcfg.put("steps", steps);
            pcfg.put("rate", o.latencyRate());
            if (v.equals("file-commit-each")) {
                pcfg.put("group", "1,1,false");
            }
            Map<String, Object> rcfg = t.cfg(o);
            rcfg.put("expect", steps);
            rcfg.put("skip", skip);
            rcfg.put("mode", "follow");
            try (Child producer = startWorker(v + "-latency-producer", t.produceMode(), pcfg)) {
                producer.expect("READY", 600_000);
                try (Child reader = startWorker(v + "-latency-readers", t.readMode(), rcfg)) {
                    reader.expect("READY", 600_000);
                    reader.send("GO");
                    producer.send("GO");
                    Map<String, Object> pr = parse(producer.expect("RESULT", 600_000));
                    Map<String, Object> rr = parse(reader.expect("RESULT", 600_000));
                    rr.put("producer", pr);
                    rr.put("rate_steps_per_s", o.latencyRate());
                    section.put(v, rr);
                    @SuppressWarnings("unchecked")
                    Map<String, Object> l = (Map<String, Object>) rr.get("latency");
                    say("latency %-16s append->visible p50 %s p99 %s p99.9 %s ms (%s steps at %.0f/s)", v,
                            Latencies.ms(num(l, "p50_ms")), Latencies.ms(num(l, "p99_ms")), Latencies.ms(num(l, "p999_ms")),
                            l.get("count"), o.latencyRate());
                }
            }
            t.drop();
        }
    }

    /** Per-take latency reading data written before (the ingestion's one-producer data, else freshly written). */
    private void fetch(Map<String, Target> kept) throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("fetch", section);
        for (String store : stores(true)) {
            if (store.equals("kafka-flush") && o.store("kafka")) {
                continue; // the same bytes in the same page cache as "kafka": reading does not differ
            }
            Target t = kept.remove(store);
            if (t == null) {
                t = target(store, "fetch");
                Map<String, Object> cfg = t.cfg(o);
                cfg.put("producers", 1);
                cfg.put("steps", o.stepsPerProducer());
                cfg.put("warmup", 0);
                runWorker(store + "-fetch-writer", t.produceMode(), cfg, t.server);
                t.written = o.stepsPerProducer();
            }
            Map<String, Object> cfg = t.cfg(o);
            cfg.put("expect", t.written);
            cfg.put("mode", "drain");
            Map<String, Object> r = runWorker(store + "-fetch-readers", t.readMode(), cfg, t.server);
            perGb(r, "bytes");
            section.put(store, r);
            @SuppressWarnings("unchecked")
            Map<String, Object> l = (Map<String, Object>) r.get("latency");
            say("fetch   %-11s per rank shard p50 %s p99 %s ms, %.0f MB/s, reader %.2f CPU-s/GB, reader RSS %.0f MB", store,
                    Latencies.ms(num(l, "p50_ms")), Latencies.ms(num(l, "p99_ms")), num(r, "mb_per_s"), num(r, "client_cpu_s_per_gb"),
                    num(r, "client_peak_rss_mb"));
            t.drop();
        }
        for (Target t : kept.values()) {
            t.drop();
        }
    }

    /** Commit rate and append→visible latency of one producer on streams of growing history. */
    private void growth() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("growth", section);
        if (o.store("file")) {
            Map<String, String> uris = new LinkedHashMap<>();
            for (long n : o.growthSizesFile()) {
                // Each run adds its commits to the stream it measures: small sizes are built fresh
                // (seconds), large ones cached (a run adds 0.2 % to 100k, 0.02 % to 1M; see start_steps).
                Path dir = n <= FRESH_GROWTH_STEPS ? freshGrowthStream(n) : cachedGrowthStream(n, !o.mode().equals("quick"));
                if (dir == null) {
                    say("growth  file %,d steps: not cached; build it once with ./jmh-benchmarks/compare --build-cache", n);
                    continue;
                }
                uris.put(Long.toString(n), "file://" + dir);
            }
            section.put("file", growthRounds(uris, "file", null));
        }
        if (s3 != null && !o.growthSizesS3().isEmpty()) {
            Map<String, String> uris = new LinkedHashMap<>();
            for (long n : o.growthSizesS3()) {
                Target t = target("s3", "growth" + n);
                Map<String, Object> cfg = t.cfg(o);
                cfg.put("shardBytes", o.dacShardBytes());
                cfg.put("target", n);
                runWorker("s3-growth-build-" + n, "dac-build", cfg, null, 4 * 3600_000L);
                uris.put(Long.toString(n), t.uri);
            }
            section.put("s3", growthRounds(uris, "s3", s3));
        }
    }

    /**
     * Measures every size {@value #GROWTH_ROUNDS} times (--smoke: once), round robin (so a change of machine load
     * hits every size alike), and keeps per size the round with the median commit rate plus
     * every round's rate ({@code rounds_commits_per_s}).
     */
    private Map<String, Object> growthRounds(Map<String, String> uris, String store, Child server) throws Exception {
        Map<String, List<Map<String, Object>>> runs = new LinkedHashMap<>();
        int rounds = o.mode().equals("smoke") ? 1 : GROWTH_ROUNDS;
        for (int round = 0; round < rounds; round++) {
            for (Map.Entry<String, String> e : uris.entrySet()) {
                runs.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(growthRun(e.getValue(), store + "-" + e.getKey(), server));
            }
        }
        Map<String, Object> bySize = new LinkedHashMap<>();
        for (Map.Entry<String, List<Map<String, Object>>> e : runs.entrySet()) {
            List<Map<String, Object>> rs = new ArrayList<>(e.getValue());
            List<Double> rates = rs.stream().map(x -> num(x, "commits_per_s")).toList();
            rs.sort(Comparator.comparingDouble(x -> num(x, "commits_per_s")));
            Map<String, Object> median = rs.get(rs.size() / 2);
            median.put("rounds_commits_per_s", rates);
            bySize.put(e.getKey(), median);
            say("growth  %-4s %9s steps: median of %d rounds %.0f commits/s (rounds %s)", store, e.getKey(), rates.size(),
                    num(median, "commits_per_s"), rates.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList());
        }
        return bySize;
    }

    private Map<String, Object> growthRun(String uri, String name, Child server) throws Exception {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("uri", uri);
        cfg.put("worldSize", o.worldSize());
        cfg.put("shardBytes", o.dacShardBytes());
        cfg.put("commits", o.growthCommits());
        Map<String, Object> r = runWorker("growth-" + name, "dac-growth", cfg, server);
        @SuppressWarnings("unchecked")
        Map<String, Object> v = (Map<String, Object>) r.get("visible");
        say("growth  %-10s at %,9d steps: open %.0f ms, %.0f commits/s, append->visible p50 %s p99 %s ms", name,
                ((Number) r.get("start_steps")).longValue(), num(r, "open_ms"), num(r, "commits_per_s"), Latencies.ms(num(v, "p50_ms")),
                Latencies.ms(num(v, "p99_ms")));
        return r;
    }

    private Path freshGrowthStream(long n) throws Exception {
        Path dir = tmp.resolve("streams").resolve("growth-" + n + "-" + (++names));
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("uri", "file://" + dir);
        cfg.put("worldSize", o.worldSize());
        cfg.put("shardBytes", o.dacShardBytes());
        cfg.put("target", n);
        runWorker("growth-build-" + n, "dac-build", cfg, null, 3600_000L);
        return dir;
    }

    /**
     * The cached file:// stream with {@code n} committed tiny steps, built (or finished) if
     * {@code build}; null if absent and not to be built.
     */
    private Path cachedGrowthStream(long n, boolean build) throws Exception {
        Path dir = o.cache().resolve(String.format(Locale.ROOT, "dac-w%d-b%d/file-%d", o.worldSize(), o.dacShardBytes(), n));
        Path done = dir.resolveSibling(dir.getFileName() + ".complete");
        if (Files.exists(done)) {
            return dir;
        }
        if (!build) {
            return null;
        }
        Files.createDirectories(dir);
        say("building the cached growth stream of %,d steps in %s (once; resumable)", n, dir);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("uri", "file://" + dir);
        cfg.put("worldSize", o.worldSize());
        cfg.put("shardBytes", o.dacShardBytes());
        cfg.put("target", n);
        Map<String, Object> r = runWorker("growth-build-" + n, "dac-build", cfg, null, 4 * 3600_000L);
        say("built %,d steps in %.0f s", ((Number) r.get("steps")).longValue(), num(r, "seconds"));
        Files.writeString(done, Instant.now() + "\n");
        return dir;
    }

    /** Many producers racing for versions: DAC (the adaptive default) against a fixed group of 4. */
    private void dac() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("dac", section);
        for (String store : List.of("file", "s3")) {
            if (!o.store(store) || !o.dacStores().contains(store) || (store.equals("s3") && s3 == null)) {
                continue;
            }
            Map<String, Object> byVariant = new LinkedHashMap<>();
            section.put(store, byVariant);
            for (String variant : List.of("dac", "fixed")) {
                Map<String, Object> byN = new LinkedHashMap<>();
                byVariant.put(variant, byN);
                for (int n : o.dacProducers()) {
                    Target t = target(store, "dac-" + variant + n);
                    Map<String, Object> cfg = t.cfg(o);
                    cfg.put("shardBytes", o.dacShardBytes());
                    cfg.put("producers", n);
                    cfg.put("seconds", o.dacSeconds());
                    cfg.put("sampleMillis", 100);
                    if (variant.equals("fixed")) {
                        cfg.put("group", "4,4,false");
                    }
                    Map<String, Object> r = runWorker(store + "-dac-" + variant + "-" + n, "dac-run", cfg, t.server);
                    byN.put(Integer.toString(n), r);
                    @SuppressWarnings("unchecked")
                    Map<String, Object> v = (Map<String, Object>) r.get("visible");
                    say("dac     %-4s %-5s %2d producers: %7.0f steps/s, %6.0f commits/s, %.2f conflicts/commit, visible p50 %s p99 %s ms",
                            store, variant, n, num(r, "steps_per_s"), num(r, "commits_per_s"), num(r, "conflicts_per_commit"),
                            Latencies.ms(num(v, "p50_ms")), Latencies.ms(num(v, "p99_ms")));
                    t.drop();
                }
            }
        }
    }

    // ------------------------------------------------------------------ plumbing

    /** The stores the data sections run on, in table order. */
    private List<String> stores(boolean withKafka) {
        List<String> out = new ArrayList<>();
        for (String s : List.of("file", "s3", "kafka", "kafka-flush")) {
            if (o.store(s) && (withKafka || !s.startsWith("kafka")) && (!s.equals("s3") || s3 != null)
                    && (!s.startsWith("kafka") || kafka != null)) {
                out.add(s);
            }
        }
        return out;
    }

    /** Where one run writes: a fresh file:// directory, S3 bucket or Kafka topic. */
    private final class Target {
        final String store;
        final String uri;
        final String topic;
        final Child server;
        long written;

        Target(String store, String uri, String topic, Child server) {
            this.store = store;
            this.uri = uri;
            this.topic = topic;
            this.server = server;
        }

        Map<String, Object> cfg(Options opts) {
            Map<String, Object> c = new LinkedHashMap<>();
            if (topic != null) {
                c.put("bootstrap", kafka.bootstrap());
                c.put("topic", topic);
            } else {
                c.put("uri", uri);
            }
            c.put("shardBytes", opts.shardBytes());
            c.put("worldSize", opts.worldSize());
            return c;
        }

        String produceMode() {
            return topic != null ? "kafka-produce" : "ls-produce";
        }

        String readMode() {
            return topic != null ? "kafka-read" : "ls-read";
        }

        void drop() throws Exception {
            if (topic != null) {
                kafka.deleteTopic(topic);
            } else if (uri.startsWith("file://")) {
                deleteTree(Path.of(uri.substring("file://".length())));
            } // s3: the server's directory goes when it stops
        }
    }

    private Target target(String store, String what) throws Exception {
        String name = (what + "-" + (++names)).toLowerCase(Locale.ROOT);
        return switch (store) {
            case "file" -> new Target(store, "file://" + tmp.resolve("streams").resolve(name), null, null);
            case "s3" -> {
                s3.send("BUCKET " + name);
                yield new Target(store, s3.expect("URI", 60_000), null, s3);
            }
            case "kafka", "kafka-flush" -> {
                String topic = store + "-" + name;
                kafka.createTopic(topic, o.worldSize(), o.shardBytes() + (64 << 10), store.equals("kafka-flush"));
                yield new Target(store, null, topic, kafka.process());
            }
            default -> throw new IllegalArgumentException(store);
        };
    }

    private Child startWorker(String name, String mode, Map<String, Object> cfg) throws IOException {
        List<String> jvm = new ArrayList<>();
        jvm.add("--enable-native-access=ALL-UNNAMED");
        jvm.add("-Djava.io.tmpdir=" + tmp);
        jvm.addAll(o.clientJvmOpts());
        return Child.start(name, jvm, Worker.class.getName(), List.of(mode, Worker.JSON.writeValueAsString(cfg)),
                tmp.resolve(name + ".log"));
    }

    private Map<String, Object> runWorker(String name, String mode, Map<String, Object> cfg, Child server) throws Exception {
        return runWorker(name, mode, cfg, server, 900_000);
    }

    /**
     * Runs one worker: waits for READY, samples CPU of it and of {@code server}, says GO, waits for
     * the RESULT, samples again and adds {@code client_cpu_s}, {@code server_cpu_s} and the
     * worker's peak RSS to the result.
     */
    private Map<String, Object> runWorker(String name, String mode, Map<String, Object> cfg, Child server, long timeoutMillis)
            throws Exception {
        try (Child c = startWorker(name, mode, cfg)) {
            c.expect("READY", 900_000);
            double c0 = c.cpuSeconds();
            double s0 = server == null ? 0 : server.cpuSeconds();
            c.send("GO");
            Map<String, Object> r = parse(c.expect("RESULT", timeoutMillis));
            r.put("client_cpu_s", c.cpuSeconds() - c0);
            r.put("server_cpu_s", server == null ? 0.0 : server.cpuSeconds() - s0);
            r.put("client_peak_rss_mb", c.peakRssBytes() / 1e6);
            return r;
        }
    }

    private static void perGb(Map<String, Object> r, String bytesField) {
        double gb = ((Number) r.get(bytesField)).doubleValue() / 1e9;
        r.put("client_cpu_s_per_gb", num(r, "client_cpu_s") / gb);
        r.put("total_cpu_s_per_gb", (num(r, "client_cpu_s") + num(r, "server_cpu_s")) / gb);
    }

    static double num(Map<String, Object> m, String field) {
        Object v = m == null ? null : m.get(field);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static Map<String, Object> parse(String json) throws IOException {
        return Worker.JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    private static void say(String fmt, Object... args) {
        System.err.printf(Locale.ROOT, "compare: [%5.1f s] " + fmt + "%n", prepend((System.nanoTime() - STARTED) / 1e9, args));
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
