package io.lakestream.compare;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code ./jmh-benchmarks/compare}: Lakestream (file:// and s3://) against a real Kafka broker on
 * this machine, in one run, with the same pre-generated payload on the same disk. Every client
 * is its own child JVM (so CPU and RSS are charged per process from /proc); the broker and the
 * S3 server are child JVMs too. Writes {@code compare-<mode>.json}, {@code .md} and PNG plots to
 * the results folder ({@code jmh-benchmarks/target/results}, or the README's
 * {@code jmh-benchmarks/results} with {@code --publish}) and ends with the one-line summary.
 *
 * <p>Method: every figure comes from {@link Options#repeats()} repeats. In each repeat the cases
 * of a section run in an order shuffled with the run's recorded seed, Lakestream and Kafka cases
 * alternating (which side goes first alternates between repeats); the disks are synced before
 * every case, and a case that starts with the load average above the threshold is rerun
 * (bounded). Figures are medians with 95 % bootstrap intervals ({@link Stats}).
 *
 * <p>It measures whatever the library does with its shipped defaults: rerun it unchanged after
 * producer, reader or commit changes.
 */
public final class Compare {
    /** Growth logs up to this many versions are built fresh in every run; larger ones are cached. */
    private static final long FRESH_GROWTH_VERSIONS = 1_000;
    private static final long STARTED = System.nanoTime();

    private final Options o;
    private final Map<String, Object> results = new LinkedHashMap<>();
    /** Raw per-repeat samples (ns) of the latency sections, for the bootstrap: section -> side -> repeats. */
    private final Map<String, Map<String, List<long[]>>> samples = new LinkedHashMap<>();
    /** Per-repeat figures: section/side -> values, for the bootstrap of medians and ratios. */
    private final Map<String, double[]> perRepeat = new LinkedHashMap<>();
    private final List<Map<String, Object>> schedule = new ArrayList<>();
    private final Map<String, Map<String, Object>> kafkaBest = new LinkedHashMap<>();
    private Path tmp;
    private KafkaBroker kafka;
    private Child s3;
    private int names;
    private int reruns;

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
        meta.put("seed", o.seed());
        meta.put("repeats", o.repeats());
        meta.put("window_seconds", o.windowSeconds());
        meta.put("window_bytes", o.windowBytes());
        meta.put("load_threshold", o.loadThreshold());
        meta.put("max_reruns", o.maxReruns());
        meta.put("client_jvm_opts", String.join(" ", o.clientJvm()));
        meta.put("options", o.toString());
        results.put("meta", meta);
        Files.createDirectories(o.tmp());
        tmp = Files.createTempDirectory(o.tmp(), "lakestream-compare-");
        if (o.buildCache()) {
            try {
                for (long v : o.growthVersions()) {
                    if (v > FRESH_GROWTH_VERSIONS) {
                        cachedGrowthStream(v, true);
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
            if (o.has("ingest")) {
                kafkaGrid();
                ingest();
            }
            if (o.has("latency")) {
                latency();
            }
            if (o.has("fetch")) {
                fetch();
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
            results.put("headline", headline());
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
        meta.put("reruns", reruns);
        meta.put("wall_s", (System.nanoTime() - t0) / 1e9);
        results.put("schedule", schedule);
        Files.createDirectories(o.out());
        Path json = o.out().resolve("compare-" + o.mode() + ".json");
        Worker.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), results);
        Summary summary = new Summary(results, o);
        Path md = o.out().resolve("compare-" + o.mode() + ".md");
        Files.writeString(md, summary.markdown());
        List<Path> pngs = Charts.write(results, o.out(), "compare-" + o.mode());
        say("wrote %s, %s and %d plots%s", json, md, pngs.size(), o.publish() ? " (published)" : "");
        System.out.print(summary.targetsText());
        System.out.println(summary.finalLine());
    }

    // ------------------------------------------------------------------ repeats

    /** One case of a section: which side it measures and how to measure it once. */
    private record Case(String key, boolean lakestream, Measure body) {}

    @FunctionalInterface
    private interface Measure {
        Map<String, Object> once() throws Exception;
    }

    /**
     * Runs every case {@link Options#repeats()} times: in each repeat the Lakestream and the
     * other cases are shuffled (seeded) and alternate, the side that goes first alternating
     * between repeats. Returns each case's results in repeat order.
     */
    private Map<String, List<Map<String, Object>>> repeats(String section, List<Case> cases) throws Exception {
        Random rnd = new Random(o.seed() * 31 + section.hashCode());
        Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
        for (Case c : cases) {
            out.put(c.key(), new ArrayList<>());
        }
        for (int rep = 0; rep < o.repeats(); rep++) {
            List<Case> ls = new ArrayList<>();
            List<Case> other = new ArrayList<>();
            for (Case c : cases) {
                (c.lakestream() ? ls : other).add(c);
            }
            Collections.shuffle(ls, rnd);
            Collections.shuffle(other, rnd);
            List<Case> order = new ArrayList<>();
            boolean lsFirst = rep % 2 == 0;
            while (!ls.isEmpty() || !other.isEmpty()) {
                List<Case> first = lsFirst ? ls : other;
                List<Case> second = lsFirst ? other : ls;
                if (!first.isEmpty()) {
                    order.add(first.remove(0));
                }
                if (!second.isEmpty()) {
                    order.add(second.remove(0));
                }
            }
            for (Case c : order) {
                Map<String, Object> r = measured(section + " " + c.key() + " repeat " + (rep + 1), c.body());
                r.put("repeat", rep + 1);
                out.get(c.key()).add(r);
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("section", section);
                entry.put("case", c.key());
                entry.put("repeat", rep + 1);
                entry.put("load_1m", r.get("load_1m"));
                entry.put("attempts", r.get("attempts"));
                schedule.add(entry);
            }
        }
        return out;
    }

    /**
     * Before a case, the disk must be quiet: at most this share of 500 ms with a task waiting for
     * I/O (PSI), waited for up to 60 s. After the ingestion section deleted its gigabytes, the
     * first latency repeats of a full run (2026-12-07 06:42) had a p99 of 79.5 ms against 14-17 in
     * the other four: the disk was still busy with the deletes when they started.
     */
    static final double QUIET_IO_PRESSURE = 5.0;

    /**
     * The longest wait for a quiet disk before a case (system property
     * {@code lakestream.compare.diskQuietWaitSeconds}, 60 s): 0 for an experiment that loads the
     * disk on purpose (an A/B of the commit path under contention), where it never gets quiet.
     */
    static final long DISK_QUIET_WAIT_SECONDS = Long.getLong("lakestream.compare.diskQuietWaitSeconds", 60);

    /** A load average above the threshold counts as busy only if the CPUs are contended too (PSI, percent of 500 ms). */
    static final double BUSY_CPU_PRESSURE = 10.0;

    /**
     * Runs {@code body} once after syncing the disks; reruns it (after a pause) while the 1-minute
     * load average at its start was above the threshold, at most {@link Options#maxReruns()} times
     * per case and {@link #rerunCap()} times per run. Where the kernel reports CPU pressure, a
     * load above the threshold with less than {@link #BUSY_CPU_PRESSURE} % CPU pressure is not
     * rerun: that load is threads blocked on the disk (the previous case's fsyncs, counted for a
     * minute by the load average), not other work on the CPUs. The result carries the load and
     * the CPU pressure it started at, every attempt's load and whether it counted as busy.
     */
    private Map<String, Object> measured(String what, Measure body) throws Exception {
        List<Double> loads = new ArrayList<>();
        for (int attempt = 0; ; attempt++) {
            syncDisks();
            long diskWait = System.nanoTime();
            double io = ProcStat.ioPressure(500);
            while (io >= QUIET_IO_PRESSURE && System.nanoTime() - diskWait < TimeUnit.SECONDS.toNanos(DISK_QUIET_WAIT_SECONDS)) {
                io = ProcStat.ioPressure(500); // the disk still works off an earlier case (deletes, discards, journal)
            }
            double diskWaitSeconds = (System.nanoTime() - diskWait) / 1e9;
            double load = ProcStat.load1();
            double pressure = ProcStat.cpuPressure(500);
            loads.add(load);
            Map<String, Object> r = body.once();
            boolean over = load > o.loadThreshold() && !(pressure < BUSY_CPU_PRESSURE);
            if (!over || attempt >= o.maxReruns() || reruns >= rerunCap()) {
                r.put("load_1m", load);
                r.put("cpu_pressure_pct", Double.isNaN(pressure) ? null : pressure);
                r.put("io_pressure_pct", Double.isNaN(io) ? null : io);
                r.put("disk_quiet_wait_s", diskWaitSeconds);
                r.put("attempts", loads.size());
                r.put("attempt_loads_1m", loads);
                r.put("started_over_threshold", over);
                return r;
            }
            reruns++;
            say("%s started at load %.2f > %.2f, CPU pressure %.1f %%: rerun %d", what, load, o.loadThreshold(), pressure, attempt + 1);
            Thread.sleep(o.mode().equals("full") ? 15_000 : 3_000);
        }
    }

    /** Reruns per run at most: a busy machine must not make a quick run slow (3), nor a full one endless (10 per allowed rerun). */
    private int rerunCap() {
        return o.mode().equals("full") ? 10 * o.maxReruns() : 3 * o.maxReruns();
    }

    /** Writes back dirty pages (another case's unsynced data) so it does not land in this case's window. */
    private static void syncDisks() {
        try {
            Process p = new ProcessBuilder("sync").redirectErrorStream(true).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // no sync(1): measure anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private double[] values(List<Map<String, Object>> runs, String field) {
        return runs.stream().mapToDouble(x -> num(x, field)).filter(d -> !Double.isNaN(d)).toArray();
    }

    private long seed(String figure) {
        return o.seed() * 1_000_003L + figure.hashCode();
    }

    /** Median and interval of {@code field} over the repeats, stored as {@code field} and {@code field_ci}; the values kept for ratios. */
    private void summarize(Map<String, Object> into, String key, List<Map<String, Object>> runs, String field) {
        double[] v = values(runs, field);
        perRepeat.put(key + "/" + field, v);
        Stats.Interval iv = Stats.median(v, seed(key + "/" + field));
        into.put(field, iv.value());
        into.put(field + "_ci", iv.toMap());
    }

    // ------------------------------------------------------------------ sections

    /** The Kafka producer settings a case of {@code store} runs with. */
    private Map<String, Object> kafkaConfig(String store, boolean latency) {
        Map<String, Object> k = new LinkedHashMap<>();
        boolean tuned = store.equals("kafka") || store.equals("kafka-flush");
        k.put("tuned", tuned);
        if (tuned) {
            Map<String, Object> best = kafkaBest.get(store);
            // Latency runs send one step every 20 ms: batching buys nothing there, so the tuned
            // producer does not linger (an operator tuning for latency sets linger.ms=0).
            k.put("linger", latency ? 0 : best != null ? best.get("linger") : 5);
            k.put("compression", best != null && !latency ? best.get("compression") : "none");
        }
        return k;
    }

    /** The tuned producer's linger.ms x compression.type grid, one producer, per tuned durability; the best MB/s is used from then on. */
    private void kafkaGrid() throws Exception {
        if (kafka == null) {
            return;
        }
        Map<String, Object> section = new LinkedHashMap<>();
        for (String store : List.of("kafka-flush", "kafka")) {
            if (!o.store(store)) {
                continue;
            }
            List<Map<String, Object>> points = new ArrayList<>();
            List<Map<String, Object>> grid = new ArrayList<>();
            for (int linger : o.lingerGrid()) {
                for (String comp : o.compressionGrid()) {
                    Map<String, Object> g = new LinkedHashMap<>();
                    g.put("linger", linger);
                    g.put("compression", comp);
                    grid.add(g);
                }
            }
            Collections.shuffle(grid, new Random(o.seed() + store.hashCode()));
            Map<String, Object> best = null;
            for (Map<String, Object> g : grid) {
                Map<String, Object> r = measured("kafka grid " + store + " " + g, () -> {
                    kafkaBest.put(store, g);
                    return ingestOnce(store, 1);
                });
                Map<String, Object> point = new LinkedHashMap<>(g);
                point.put("mb_per_s", num(r, "mb_per_s"));
                point.put("load_1m", r.get("load_1m"));
                points.add(point);
                say("kafka grid %-11s linger.ms=%-3s compression=%-4s %7.1f MB/s (load %.2f)", store, g.get("linger"), g.get("compression"),
                        num(r, "mb_per_s"), num(r, "load_1m"));
                if (best == null || num(r, "mb_per_s") > num(best, "mb_per_s")) {
                    best = point;
                }
            }
            Map<String, Object> chosen = new LinkedHashMap<>();
            chosen.put("linger", best.get("linger"));
            chosen.put("compression", best.get("compression"));
            kafkaBest.put(store, chosen);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("points", points);
            s.put("best", chosen);
            section.put(store, s);
            say("kafka grid %s: best linger.ms=%s compression.type=%s", store, chosen.get("linger"), chosen.get("compression"));
        }
        results.put("kafka_grid", section);
    }

    /** One ingestion measurement: a fresh target, a producer process, the target dropped. */
    private Map<String, Object> ingestOnce(String store, int n) throws Exception {
        Target t = target(store, "ingest" + n);
        try {
            Map<String, Object> cfg = t.cfg(o);
            cfg.putAll(kafkaConfig(store, false));
            cfg.put("producers", n);
            cfg.put("windowSeconds", o.windowSeconds());
            cfg.put("windowBytes", o.windowBytes());
            cfg.put("warmupChunk", (int) Math.max(4, (64L << 20) / ((long) o.shardBytes() * o.worldSize())));
            cfg.put("warmupMaxSeconds", o.warmupMaxSeconds());
            Map<String, Object> r = runWorker(store + "-produce-" + n + "-" + names, t.produceMode(), cfg, t.server);
            perGb(r, "bytes");
            r.put("kafka", kafkaConfig(store, false));
            return r;
        } finally {
            t.drop();
        }
    }

    /** Ingestion MB/s, CPU and RSS per store and producer count, {@link Options#repeats()} interleaved repeats. */
    private void ingest() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("ingest", section);
        List<Case> cases = new ArrayList<>();
        for (String store : stores()) {
            for (int n : o.producers()) {
                cases.add(new Case(store + "/" + n, !store.startsWith("kafka"), () -> ingestOnce(store, n)));
            }
        }
        Map<String, List<Map<String, Object>>> runs = repeats("ingest", cases);
        for (String store : stores()) {
            Map<String, Object> byN = new LinkedHashMap<>();
            section.put(store, byN);
            for (int n : o.producers()) {
                List<Map<String, Object>> rs = runs.get(store + "/" + n);
                Map<String, Object> x = new LinkedHashMap<>();
                for (String f : List.of("mb_per_s", "client_cpu_s_per_gb", "total_cpu_s_per_gb", "client_peak_rss_mb")) {
                    summarize(x, "ingest/" + store + "/" + n, rs, f);
                }
                x.put("warmup_converged", rs.stream().allMatch(r -> !Boolean.FALSE.equals(r.get("warmup_converged"))));
                x.put("kafka", kafkaConfig(store, false));
                x.put("repeats", rs);
                byN.put(Integer.toString(n), x);
                Stats.Interval iv = Stats.Interval.of(x.get("mb_per_s_ci"));
                say("ingest %-19s %d producer(s): median %7.1f MB/s [%.1f-%.1f] over %d repeats, client %.2f CPU-s/GB, RSS %.0f MB", store, n,
                        iv.value(), iv.lo(), iv.hi(), rs.size(), num(x, "client_cpu_s_per_gb"), num(x, "client_peak_rss_mb"));
            }
        }
    }

    /** The stores of the latency and fetch sections: --quick keeps Kafka's defaults column to the ingestion section (time). */
    private List<String> latencyAndFetchStores() {
        List<String> out = new ArrayList<>(stores());
        out.remove("file-direct"); // an ingestion-only side (see Options.STORES)
        if (o.mode().equals("quick")) {
            out.removeIf(s -> s.startsWith("kafka-default"));
        }
        return out;
    }

    /** The latency variants: every store, plus Lakestream file:// committing every step (full mode). */
    private List<String> latencyVariants() {
        List<String> variants = new ArrayList<>();
        for (String s : latencyAndFetchStores()) {
            variants.add(s);
            if (s.equals("file") && o.mode().equals("full")) {
                variants.add("file-commit-each");
            }
        }
        return variants;
    }

    /** Append→visible latency: a paced producer process and a reader process with every rank, interleaved repeats. */
    private void latency() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("latency", section);
        int skip = Math.max(Math.max(10, o.latencySamples() / 8), (int) Math.ceil(o.latencyWarmupSeconds() * o.latencyRate()));
        int steps = skip + o.latencySamples();
        List<Case> cases = new ArrayList<>();
        for (String v : latencyVariants()) {
            cases.add(new Case(v, !v.startsWith("kafka"), () -> latencyOnce(v, steps, skip)));
        }
        Map<String, List<Map<String, Object>>> runs = repeats("latency", cases);
        Map<String, List<long[]>> raw = new LinkedHashMap<>();
        samples.put("latency", raw);
        for (String v : latencyVariants()) {
            Map<String, Object> stages = new LinkedHashMap<>();
            List<Map<String, Object>> tail = jfrTail(runs.get(v), stages);
            Map<String, Object> x = pooled("latency/" + v, runs.get(v), raw, v);
            x.putAll(stages);
            if (x.get("jfr_stages") instanceof Map<?, ?> st && st.get("stages") instanceof List<?> rows) {
                for (Object row : rows) {
                    Map<String, Object> m = Summary.map(row);
                    say("stages  %-19s %-52s slow steps p50 %7.2f ms (max %7.2f, longest in %s of %s); every step p50 %6.2f p99 %7.2f ms",
                            v, m.get("stage"), num(m, "slow_p50_ms"), num(m, "slow_max_ms"), m.get("slow_longest"), st.get("slow_steps"),
                            num(m, "all_p50_ms"), num(m, "all_p99_ms"));
                }
            }
            if (tail != null) {
                x.put("jfr_tail", tail);
                for (Map<String, Object> t : tail) {
                    say("jfr     %-19s %-90s %2s of %s slow steps, %.2f ms per slow step (max %.1f), %.0f %% of slow windows vs %.0f %% of all",
                            v, t.get("wait"), t.get("slow_steps_touched"), t.get("slow_steps"), num(t, "ms_per_slow_step"), num(t, "max_ms"),
                            100 * num(t, "share_of_slow_windows"), 100 * num(t, "share_of_all_windows"));
                }
            }
            x.put("rate_steps_per_s", o.latencyRate());
            x.put("kafka", kafkaConfig(v, true));
            section.put(v, x);
            @SuppressWarnings("unchecked")
            Map<String, Object> l = (Map<String, Object>) x.get("latency");
            say("latency %-19s append->visible p50 %s %s p99 %s %s ms (%s steps over %d repeats at %.0f/s)", v, Latencies.ms(num(l, "p50_ms")),
                    ci(x.get("p50_ci")), Latencies.ms(num(l, "p99_ms")), ci(x.get("p99_ci")), l.get("count"), o.repeats(), o.latencyRate());
        }
    }

    private Map<String, Object> latencyOnce(String v, int steps, int skip) throws Exception {
        String store = v.equals("file-commit-each") ? "file" : v;
        Target t = target(store, "latency");
        try {
            Map<String, Object> pcfg = t.cfg(o);
            pcfg.putAll(kafkaConfig(store, true));
            pcfg.put("producers", 1);
            pcfg.put("steps", steps);
            pcfg.put("rate", o.latencyRate());
            if (v.equals("file-commit-each")) {
                pcfg.put("group", "1,1,false");
            }
            Map<String, Object> rcfg = t.cfg(o);
            rcfg.putAll(kafkaConfig(store, true));
            rcfg.put("expect", steps);
            rcfg.put("skip", skip);
            rcfg.put("mode", "follow");
            String name = v + "-latency-" + (++names);
            List<String> pjvm = jfr(v, name + "-producer");
            List<String> rjvm = jfr(v, name + "-readers");
            try (Child producer = startWorker(name + "-producer", t.produceMode(), pcfg, pjvm)) {
                producer.expect("READY", 600_000);
                try (Child reader = startWorker(name + "-readers", t.readMode(), rcfg, rjvm)) {
                    reader.expect("READY", 600_000);
                    reader.send("GO");
                    producer.send("GO");
                    Map<String, Object> pr = parse(producer.expect("RESULT", 600_000));
                    Map<String, Object> rr = parse(reader.expect("RESULT", 600_000));
                    pr.remove("clients");
                    rr.put("producer", pr);
                    if (!pjvm.isEmpty()) {
                        rr.put("jfr_files", List.of(o.out().resolve("jfr").resolve(name + "-producer.jfr").toString(),
                                o.out().resolve("jfr").resolve(name + "-readers.jfr").toString()));
                    }
                    rr.put("reader_peak_rss_mb", reader.peakRssBytes() / 1e6);
                    return rr;
                }
            }
        } finally {
            t.drop();
        }
    }

    /**
     * With --jfr: what the slowest steps of a variant's repeats waited for ({@link JfrTail}), from
     * each repeat's recordings and slow steps; null without recordings. Drops the per-step stamps
     * from the results either way.
     */
    private List<Map<String, Object>> jfrTail(List<Map<String, Object>> rs, Map<String, Object> into) throws IOException {
        List<JfrTail.Repeat> repeats = new ArrayList<>();
        for (Map<String, Object> r : rs) {
            Object stamps = r.remove("handed_over_wall_ns");
            if (!(r.get("jfr_files") instanceof List<?> fl)) {
                continue;
            }
            List<Path> files = new ArrayList<>();
            fl.forEach(f -> files.add(Path.of(f.toString())));
            List<JfrTail.Window> slow = new ArrayList<>();
            List<JfrTail.Window> all = new ArrayList<>();
            if (r.get("slow_steps") instanceof List<?> sl) {
                for (Object o1 : sl) {
                    Map<String, Object> m = Summary.map(o1);
                    long from = ((Number) m.get("handed_over_wall_ns")).longValue();
                    slow.add(new JfrTail.Window(((Number) m.get("step")).longValue(), from, from + (long) (num(m, "latency_ms") * 1e6)));
                }
            }
            if (stamps instanceof List<?> st && r.get("samples_ns") instanceof List<?> lat) {
                long skip = ((Number) r.getOrDefault("skip", 0)).longValue();
                for (int i = 0; i < Math.min(st.size(), lat.size()); i++) {
                    long from = ((Number) st.get(i)).longValue();
                    all.add(new JfrTail.Window(skip + i, from, from + ((Number) lat.get(i)).longValue()));
                }
            }
            repeats.add(new JfrTail.Repeat(files, slow, all));
        }
        if (repeats.isEmpty()) {
            return null;
        }
        Map<String, Object> stages = JfrTail.stages(repeats);
        if (stages != null) {
            into.put("jfr_stages", stages);
        }
        // the waits are added up over every repeat's recordings and windows together
        return JfrTail.analyze(repeats.stream().flatMap(x -> x.recordings().stream()).toList(),
                repeats.stream().flatMap(x -> x.slow().stream()).toList(), repeats.stream().flatMap(x -> x.all().stream()).toList(), 12);
    }

    /** With --jfr, a Lakestream latency process records a flight recording (profile settings) to {@code <out>/jfr/<name>.jfr}. */
    private List<String> jfr(String variant, String name) throws IOException {
        if (!o.jfr() || variant.startsWith("kafka")) {
            return List.of();
        }
        Path dir = o.out().resolve("jfr");
        Files.createDirectories(dir);
        return List.of("-XX:StartFlightRecording:filename=" + dir.resolve(name + ".jfr") + ",settings=profile,dumponexit=true");
    }

    /**
     * Pools the latency samples of every repeat: percentiles of the pool with two-level bootstrap
     * intervals (p50_ci, p99_ci), the pooled CDF, and per repeat its own summary and warm-up check.
     */
    private Map<String, Object> pooled(String key, List<Map<String, Object>> rs, Map<String, List<long[]>> raw, String side) {
        List<long[]> reps = new ArrayList<>();
        List<Map<String, Object>> kept = new ArrayList<>();
        for (Map<String, Object> r : rs) {
            Object s = r.remove("samples_ns");
            long[] a = s instanceof List<?> l ? l.stream().mapToLong(x -> ((Number) x).longValue()).toArray() : new long[0];
            reps.add(a);
            r.remove("cdf");
            kept.add(r);
        }
        raw.put(side, reps);
        Latencies all = new Latencies(Stats.pool(reps));
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("latency", all.summary());
        x.put("p50_ci", millis(Stats.percentile(reps, 50, seed(key + "/p50"))).toMap());
        x.put("p99_ci", millis(Stats.percentile(reps, 99, seed(key + "/p99"))).toMap());
        x.put("cdf", all.cdf(200));
        x.put("warmup_ok", kept.stream().allMatch(r -> !Boolean.FALSE.equals(Summary.map(r.get("warmup_check")).get("ok"))));
        x.put("repeats", kept);
        return x;
    }

    private static Stats.Interval millis(Stats.Interval nanos) {
        return new Stats.Interval(nanos.value() / 1e6, nanos.lo() / 1e6, nanos.hi() / 1e6, nanos.n());
    }

    /** The fetch sides: one per store, a "-flush" store only if its page-cache twin is absent (reading does not differ). */
    private List<String> fetchSides() {
        List<String> out = new ArrayList<>();
        for (String s : latencyAndFetchStores()) {
            if (s.endsWith("-flush") && o.store(s.substring(0, s.length() - "-flush".length()))) {
                continue;
            }
            out.add(s);
        }
        return out;
    }

    /** Per-take latency reading data written before: each side's data written once (untimed), drained by a fresh reader process per repeat. */
    private void fetch() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("fetch", section);
        int skip = Math.max(4, o.fetchSteps() / 16);
        int steps = skip + o.fetchSteps();
        Map<String, Target> written = new LinkedHashMap<>();
        try {
            for (String store : fetchSides()) {
                Target t = target(store, "fetch");
                written.put(store, t);
                Map<String, Object> cfg = t.cfg(o);
                cfg.putAll(kafkaConfig(store, false));
                cfg.put("producers", 1);
                cfg.put("steps", steps);
                cfg.put("warmupChunk", 0);
                runWorker(store + "-fetch-writer", t.produceMode(), cfg, t.server);
            }
            List<Case> cases = new ArrayList<>();
            for (String store : fetchSides()) {
                Target t = written.get(store);
                cases.add(new Case(store, !store.startsWith("kafka"), () -> {
                    Map<String, Object> cfg = t.cfg(o);
                    cfg.putAll(kafkaConfig(store, false));
                    cfg.put("expect", steps);
                    cfg.put("skip", skip);
                    cfg.put("mode", "drain");
                    Map<String, Object> r = runWorker(store + "-fetch-readers-" + (++names), t.readMode(), cfg, t.server);
                    perGb(r, "bytes");
                    return r;
                }));
            }
            Map<String, List<Map<String, Object>>> runs = repeats("fetch", cases);
            Map<String, List<long[]>> raw = new LinkedHashMap<>();
            samples.put("fetch", raw);
            for (String store : fetchSides()) {
                List<Map<String, Object>> rs = runs.get(store);
                Map<String, Object> x = pooled("fetch/" + store, rs, raw, store);
                for (String f : List.of("mb_per_s", "client_cpu_s_per_gb", "total_cpu_s_per_gb", "client_peak_rss_mb")) {
                    summarize(x, "fetch/" + store, rs, f);
                }
                x.put("kafka", kafkaConfig(store, false));
                section.put(store, x);
                @SuppressWarnings("unchecked")
                Map<String, Object> l = (Map<String, Object>) x.get("latency");
                say("fetch   %-19s per rank shard p50 %s %s p99 %s %s ms, %.0f MB/s, reader %.2f CPU-s/GB, RSS %.0f MB", store,
                        Latencies.ms(num(l, "p50_ms")), ci(x.get("p50_ci")), Latencies.ms(num(l, "p99_ms")), ci(x.get("p99_ci")),
                        num(x, "mb_per_s"), num(x, "client_cpu_s_per_gb"), num(x, "client_peak_rss_mb"));
            }
        } finally {
            for (Target t : written.values()) {
                t.drop();
            }
        }
    }

    /** Commit rate and append→visible latency of one producer on logs of growing history, interleaved repeats. */
    private void growth() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        results.put("growth", section);
        if (o.store("file")) {
            Map<String, Measure> runs = new LinkedHashMap<>();
            for (long v : o.growthVersions()) {
                String name = "file-" + v;
                if (v <= FRESH_GROWTH_VERSIONS) {
                    // A repeat adds its commits to the log it measures: a small log is built
                    // fresh for every repeat (seconds, before the section starts), so each
                    // repeat starts at v versions, not at v plus the earlier repeats' commits.
                    ArrayDeque<Path> fresh = new ArrayDeque<>();
                    for (int r = 0; r < o.repeats(); r++) {
                        fresh.add(freshGrowthStream(v));
                    }
                    runs.put(Long.toString(v), () -> {
                        Path dir = fresh.isEmpty() ? freshGrowthStream(v) : fresh.poll(); // a rerun builds another
                        try {
                            return growthRun("file://" + dir, name, null);
                        } finally {
                            deleteTree(dir);
                        }
                    });
                    continue;
                }
                // large logs are cached (a run adds its commits: see start_versions)
                Path dir = cachedGrowthStream(v, o.mode().equals("full"));
                if (dir == null) {
                    say("growth  file %,d versions: not cached; build it once with ./jmh-benchmarks/compare --build-cache", v);
                    continue;
                }
                runs.put(Long.toString(v), () -> growthRun("file://" + dir, name, null));
            }
            section.put("file", growthRounds(runs, "file"));
        }
        if (s3 != null && !o.growthSizesS3().isEmpty()) {
            Map<String, String> uris = new LinkedHashMap<>();
            for (long n : o.growthSizesS3()) {
                Target t = target("s3", "growth" + n);
                Map<String, Object> cfg = t.cfg(o);
                cfg.put("shardBytes", o.dacShardBytes());
                cfg.put("versions", Math.max(1, n / o.growthGroup()));
                cfg.put("group", o.growthGroup());
                runWorker("s3-growth-build-" + n, "dac-build", cfg, null, 4 * 3600_000L);
                uris.put(Long.toString(n), t.uri);
            }
            Map<String, Measure> runs = new LinkedHashMap<>();
            uris.forEach((n, uri) -> runs.put(n, () -> growthRun(uri, "s3-" + n, s3)));
            section.put("s3", growthRounds(runs, "s3"));
        }
    }

    /**
     * Measures every size {@link Options#repeats()} times, shuffled per repeat, and reports per size
     * the median commit rate with its interval, every repeat's rate, and the repeat with the
     * median rate (its commit and visible latencies).
     */
    private Map<String, Object> growthRounds(Map<String, Measure> bySizeRun, String store) throws Exception {
        List<Case> cases = new ArrayList<>();
        bySizeRun.forEach((size, run) -> cases.add(new Case(size, true, run)));
        Map<String, List<Map<String, Object>>> runs = repeats("growth-" + store, cases);
        Map<String, Object> bySize = new LinkedHashMap<>();
        for (Map.Entry<String, List<Map<String, Object>>> e : runs.entrySet()) {
            List<Map<String, Object>> rs = new ArrayList<>(e.getValue());
            List<Double> rates = rs.stream().map(x -> num(x, "commits_per_s")).toList();
            rs.sort(Comparator.comparingDouble(x -> num(x, "commits_per_s")));
            Map<String, Object> median = new LinkedHashMap<>(rs.get(rs.size() / 2));
            median.put("rounds_commits_per_s", rates);
            median.put("rounds_load_1m", e.getValue().stream().map(x -> x.get("load_1m")).toList());
            summarize(median, "growth/" + store + "/" + e.getKey(), e.getValue(), "commits_per_s");
            bySize.put(e.getKey(), median);
            say("growth  %-4s %9s versions: median of %d repeats %.0f commits/s %s (repeats %s)", store, e.getKey(), rates.size(),
                    num(median, "commits_per_s"), ci(median.get("commits_per_s_ci")),
                    rates.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList());
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
        say("growth  %-10s at %,9d versions / %,d steps: open %.0f ms, %.0f commits/s, append->visible p50 %s p99 %s ms", name,
                ((Number) r.get("start_versions")).longValue(), ((Number) r.get("start_steps")).longValue(), num(r, "open_ms"),
                num(r, "commits_per_s"), Latencies.ms(num(v, "p50_ms")), Latencies.ms(num(v, "p99_ms")));
        return r;
    }

    private Map<String, Object> buildCfg(Path dir, long versions) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("uri", "file://" + dir);
        cfg.put("worldSize", o.worldSize());
        cfg.put("shardBytes", o.dacShardBytes());
        cfg.put("versions", versions);
        cfg.put("group", o.growthGroup());
        return cfg;
    }

    private Path freshGrowthStream(long versions) throws Exception {
        Path dir = tmp.resolve("streams").resolve("growth-v" + versions + "-" + (++names));
        runWorker("growth-build-" + versions, "dac-build", buildCfg(dir, versions), null, 3600_000L);
        return dir;
    }

    /**
     * The cached file:// log with {@code versions} manifest versions of {@code group} tiny steps
     * each, built by real commits (or finished) if {@code build}; null if absent and not to be built.
     */
    private Path cachedGrowthStream(long versions, boolean build) throws Exception {
        Path dir = o.cache().resolve(String.format(Locale.ROOT, "dac-w%d-b%d-g%d/file-v%d", o.worldSize(), o.dacShardBytes(),
                o.growthGroup(), versions));
        Path done = dir.resolveSibling(dir.getFileName() + ".complete");
        if (Files.exists(done)) {
            return dir;
        }
        if (!build) {
            return null;
        }
        Files.createDirectories(dir);
        say("building the cached growth log of %,d versions x %d steps in %s (once; resumable)", versions, o.growthGroup(), dir);
        Map<String, Object> r = runWorker("growth-build-v" + versions, "dac-build", buildCfg(dir, versions), null, 8 * 3600_000L);
        say("built %,d versions, %,d steps in %.0f s", ((Number) r.get("versions")).longValue(), ((Number) r.get("steps")).longValue(),
                num(r, "seconds"));
        Files.writeString(done, Instant.now() + " " + Worker.JSON.writeValueAsString(r) + "\n");
        return dir;
    }

    // ------------------------------------------------------------------ headline

    /** The tuned Kafka with flush.messages=1 if measured, else the tuned Kafka at its default durability. */
    private String kafkaRef(Map<String, ?> section) {
        if (section == null) {
            return null;
        }
        for (String k : List.of("kafka-flush", "kafka")) {
            if (section.containsKey(k)) {
                return k;
            }
        }
        return null;
    }

    /**
     * The Lakestream side of the ingestion ratio and its CPU and RSS targets: file:// with direct
     * I/O where it ran (the producer-machine setting, chosen before the run, so no best-of
     * selection), else plain file://.
     */
    private String lakestreamIngestSide() {
        return perRepeat.containsKey("ingest/file-direct/1/mb_per_s") ? "file-direct" : "file";
    }

    /**
     * The ratios of the final line, Lakestream file:// / tuned Kafka with flush.messages=1, one
     * producer, each with its bootstrap interval (both sides resampled independently).
     */
    private Map<String, Object> headline() {
        Map<String, Object> h = new LinkedHashMap<>();
        String ing = kafkaRef(Summary.map(results.get("ingest")));
        String ls = lakestreamIngestSide();
        double[] lsIngest = perRepeat.get("ingest/" + ls + "/1/mb_per_s");
        h.put("lakestream_ingest", ls);
        double[] kIngest = ing == null ? null : perRepeat.get("ingest/" + ing + "/1/mb_per_s");
        h.put("against", ing != null ? ing : kafkaRef(samples.get("latency")));
        h.put("ingest", (lsIngest != null && kIngest != null ? Stats.medianRatio(lsIngest, kIngest, seed("h/ingest")) : Stats.Interval.NONE).toMap());
        for (String sec : List.of("latency", "fetch")) {
            Map<String, List<long[]>> raw = samples.get(sec);
            String k = kafkaRef(raw);
            String name = sec.equals("latency") ? "visible" : "fetch";
            for (int p : List.of(50, 99)) {
                Stats.Interval iv = raw != null && k != null && raw.containsKey("file")
                        ? Stats.percentileRatio(raw.get("file"), raw.get(k), p, seed("h/" + name + p)) : Stats.Interval.NONE;
                h.put(name + "_p" + p, iv.toMap());
            }
        }
        List<Long> sizes = o.growthVersions();
        double[] small = sizes.isEmpty() ? null : perRepeat.get("growth/file/" + sizes.get(0) + "/commits_per_s");
        double[] large = sizes.isEmpty() ? null : perRepeat.get("growth/file/" + sizes.get(sizes.size() - 1) + "/commits_per_s");
        h.put("commit_rate_sizes", sizes.isEmpty() ? List.of() : List.of(sizes.get(0), sizes.get(sizes.size() - 1)));
        h.put("commit_rate", (small != null && large != null && sizes.size() > 1 ? Stats.medianRatio(large, small, seed("h/commit"))
                : Stats.Interval.NONE).toMap());
        return h;
    }

    private static String ci(Object m) {
        Stats.Interval iv = Stats.Interval.of(m);
        return String.format(Locale.ROOT, "[%s-%s]", Latencies.ms(iv.lo()), Latencies.ms(iv.hi()));
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
    private List<String> stores() {
        List<String> out = new ArrayList<>();
        for (String s : Options.STORES) {
            if (o.store(s) && (!s.equals("s3") || s3 != null) && (!s.startsWith("kafka") || kafka != null)) {
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
                int q = uri.indexOf('?');
                deleteTree(Path.of(uri.substring("file://".length(), q < 0 ? uri.length() : q)));
            } // s3: the server's directory goes when it stops
        }
    }

    private Target target(String store, String what) throws Exception {
        String name = (what + "-" + (++names)).toLowerCase(Locale.ROOT);
        return switch (store) {
            case "file" -> new Target(store, "file://" + tmp.resolve("streams").resolve(name), null, null);
            case "file-direct" -> new Target(store, "file://" + tmp.resolve("streams").resolve(name) + "?direct_io=true", null, null);
            case "s3" -> {
                s3.send("BUCKET " + name);
                yield new Target(store, s3.expect("URI", 60_000), null, s3);
            }
            case "kafka", "kafka-flush", "kafka-default", "kafka-default-flush" -> {
                String topic = store + "-" + name;
                boolean tuned = store.equals("kafka") || store.equals("kafka-flush");
                kafka.createTopic(topic, o.worldSize(), tuned ? KafkaBroker.MAX_MESSAGE_BYTES : o.shardBytes() + (64 << 10),
                        store.endsWith("-flush"));
                yield new Target(store, null, topic, kafka.process());
            }
            default -> throw new IllegalArgumentException(store);
        };
    }

    private Child startWorker(String name, String mode, Map<String, Object> cfg) throws IOException {
        return startWorker(name, mode, cfg, List.of());
    }

    private Child startWorker(String name, String mode, Map<String, Object> cfg, List<String> extraJvm) throws IOException {
        List<String> jvm = new ArrayList<>();
        jvm.add("--enable-native-access=ALL-UNNAMED");
        jvm.add("-Djava.io.tmpdir=" + tmp);
        jvm.addAll(o.clientJvm());
        jvm.addAll(extraJvm);
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

    static Map<String, Object> parse(String json) throws IOException {
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
