package io.lakestream.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one run as markdown tables (absolute and Lakestream/Kafka ratios), the issue's
 * targets with the measured value and met/missed, and the one-line summary the run ends with.
 * Reads only the results map, so it can be regenerated from a saved JSON file.
 */
final class Summary {
    private static final List<String> STORES = List.of("file", "s3", "kafka", "kafka-flush");
    private final Map<String, Object> r;
    private final Options o;

    Summary(Map<String, Object> results, Options o) {
        this.r = results;
        this.o = o;
    }

    // ---------------------------------------------------------------- the headline ratios

    double ingestRatio() {
        return num(path("ingest", "file", "1"), "mb_per_s") / num(path("ingest", "kafka", "1"), "mb_per_s");
    }

    double visibleP99Ratio() {
        return num(path("latency", "file", "latency"), "p99_ms") / num(path("latency", "kafka", "latency"), "p99_ms");
    }

    double commitRateRatio() {
        return num(path("growth", "file", "1000000"), "commits_per_s") / num(path("growth", "file", "1000"), "commits_per_s");
    }

    String finalLine() {
        return String.format(Locale.ROOT, "ingestion lakestream/kafka = %s, visible p99 lakestream/kafka = %s, commit rate 1M/1k = %s",
                f2(ingestRatio()), f2(visibleP99Ratio()), f2(commitRateRatio()));
    }

    // ---------------------------------------------------------------- targets

    record Check(String target, String measured, Boolean met) {}

    List<Check> checks() {
        List<Check> out = new ArrayList<>();
        for (String n : List.of("1", "2")) {
            double ls = num(path("ingest", "file", n), "mb_per_s");
            double k = num(path("ingest", "kafka", n), "mb_per_s");
            out.add(new Check("ingestion >= 2.5x Kafka's, " + n + " producer(s) (file:// vs Kafka acks=all)",
                    f1(ls) + " vs " + f1(k) + " MB/s = " + f2(ls / k) + "x", met(ls / k >= 2.5, ls, k)));
        }
        double lv = num(path("latency", "file", "latency"), "p99_ms");
        double kv = num(path("latency", "kafka", "latency"), "p99_ms");
        out.add(new Check("append->visible p99 <= Kafka end-to-end p99", ms(lv) + " vs " + ms(kv) + " ms", met(lv <= kv, lv, kv)));
        double lf = num(path("fetch", "file", "latency"), "p99_ms");
        double kf = num(path("fetch", "kafka", "latency"), "p99_ms");
        out.add(new Check("fetch p99 (written data) <= 0.5x Kafka's", ms(lf) + " vs " + ms(kf) + " ms = " + f2(lf / kf) + "x",
                met(lf <= 0.5 * kf, lf, kf)));
        double c1 = num(path("growth", "file", "1000"), "commits_per_s");
        double cm = num(path("growth", "file", "1000000"), "commits_per_s");
        out.add(new Check("commit rate at 1M steps >= 0.9x the rate at 1k", f0(cm) + " vs " + f0(c1) + " commits/s = " + f2(cm / c1) + "x", met(cm >= 0.9 * c1, cm, c1)));
        String maxN = lastKey(path("ingest", "file"));
        double i1 = num(path("ingest", "file", "1"), "mb_per_s");
        double i8 = num(path("ingest", "file", maxN), "mb_per_s");
        out.add(new Check(maxN + " producers' aggregate >= 1 producer's (file://)", f1(i8) + " vs " + f1(i1) + " MB/s",
                maxN.equals("1") ? null : met(i8 >= i1, i8, i1)));
        double rss = num(path("ingest", "file", "1"), "client_peak_rss_mb");
        out.add(new Check("producer RSS <= 256 MB at " + (long) o.shardBytes() * o.worldSize() / (1 << 20) + " MiB steps",
                f0(rss) + " MB (peak, one producer process)", met(rss <= 256, rss, 0)));
        out.add(new Check("<= 1 KiB allocated per step on the read path", "see ./jmh-benchmarks/run.sh (gc.alloc.rate.norm)", null));
        return out;
    }

    private static Boolean met(boolean ok, double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? null : ok;
    }

    String targetsText() {
        StringBuilder sb = new StringBuilder("targets of issue 12:\n");
        for (Check c : checks()) {
            sb.append(String.format(Locale.ROOT, "  %-7s %s: %s%n", c.met() == null ? "n/a" : c.met() ? "MET" : "MISSED", c.target(),
                    c.measured()));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        Map<String, Object> meta = map(r.get("meta"));
        md.append("# Lakestream vs Kafka, side by side (").append(o.mode()).append(" mode)\n\n");
        md.append(String.format(Locale.ROOT, "`./jmh-benchmarks/compare%s` on %s: %s cores, JDK %s, load average %s at start and %s at end, "
                        + "%.0f s. Payload: %d KiB per rank shard x W=%d = %s KiB per step, pre-generated random int32 tokens, "
                        + "the same bytes for both; everything on one disk (temporary directory).%n%n",
                o.mode().equals("full") ? "" : " --" + o.mode(), meta.get("date"), meta.get("cores"), meta.get("jdk"), meta.get("load_start"),
                meta.get("load_end"), num(meta, "wall_s"), o.shardBytes() / 1024, o.worldSize(), (long) o.shardBytes() * o.worldSize() / 1024));
        md.append("""
                Sides: **Lakestream file://** (temporary directory; every object and manifest version fsynced before a commit returns),
                **Lakestream s3://** (the embedded S3 server, S3Proxy 3.0.0 filesystem-nio2, in its own process), **Kafka** 4.4.0 (one KRaft
                broker, one partition per rank, replication 1, producer acks=all with idempotence; the broker acknowledges from the page
                cache: Kafka's default durability) and **Kafka flush** (the same with `flush.messages=1` on the topic: the broker fsyncs
                the log after every append before acknowledging). *Kafka flush is the one that matches Lakestream's file:// fsync.*
                Every producer and reader is its own JVM with the same options; CPU is user+system time from /proc over the timed part,
                RSS the process's peak (VmHWM). Client = the producer or reader process; total adds the broker or S3 server.

                """);
        ingestTables(md);
        latencyTable(md);
        fetchTable(md);
        growthTable(md);
        dacTable(md);
        md.append("## Targets (issue 12)\n\n| target | measured | |\n|---|---|---|\n");
        for (Check c : checks()) {
            md.append("| ").append(c.target()).append(" | ").append(c.measured()).append(" | ")
                    .append(c.met() == null ? "n/a" : c.met() ? "met" : "**missed**").append(" |\n");
        }
        md.append("\n`").append(finalLine()).append("`\n");
        return md.toString();
    }

    private void ingestTables(StringBuilder md) {
        Map<String, Object> in = map(r.get("ingest"));
        if (in == null) {
            return;
        }
        md.append("## Ingestion\n\nMB/s (10^6 B/s) of payload from GO until every producer's last commit (Lakestream) or flush "
                + "(Kafka) returned, after warm-up steps. N producers = N threads in one producer process, each with its own client.\n\n");
        md.append("| producers |");
        List<String> cols = present(in);
        for (String s : cols) {
            md.append(' ').append(label(s)).append(" MB/s |");
        }
        boolean ratios = in.containsKey("file") && in.containsKey("kafka");
        boolean ratiosFlush = in.containsKey("file") && in.containsKey("kafka-flush");
        if (ratios) {
            md.append(" file / Kafka |");
        }
        if (ratiosFlush) {
            md.append(" file / Kafka flush |");
        }
        md.append("\n|---:|").append("---:|".repeat(cols.size() + (ratios ? 1 : 0) + (ratiosFlush ? 1 : 0))).append('\n');
        for (int n : o.producers()) {
            String k = Integer.toString(n);
            md.append("| ").append(n).append(" |");
            for (String s : cols) {
                md.append(' ').append(f1(num(path("ingest", s, k), "mb_per_s"))).append(" |");
            }
            double f = num(path("ingest", "file", k), "mb_per_s");
            if (ratios) {
                md.append(' ').append(f2(f / num(path("ingest", "kafka", k), "mb_per_s"))).append(" |");
            }
            if (ratiosFlush) {
                md.append(' ').append(f2(f / num(path("ingest", "kafka-flush", k), "mb_per_s"))).append(" |");
            }
            md.append('\n');
        }
        md.append("\nCPU and memory of the ingestion runs:\n\n| side | producers | client CPU-s/GB | total CPU-s/GB (with broker or S3 server) "
                + "| producer process peak RSS MB |\n|---|---:|---:|---:|---:|\n");
        for (String s : cols) {
            for (int n : o.producers()) {
                Map<String, Object> x = path("ingest", s, Integer.toString(n));
                md.append("| ").append(label(s)).append(" | ").append(n).append(" | ").append(f2(num(x, "client_cpu_s_per_gb")))
                        .append(" | ").append(f2(num(x, "total_cpu_s_per_gb"))).append(" | ").append(f1(num(x, "client_peak_rss_mb")))
                        .append(" |\n");
            }
        }
        if (r.containsKey("kafka_broker_peak_rss_mb")) {
            md.append(String.format(Locale.ROOT, "%nKafka broker peak RSS %.0f MB (-Xmx1G -Xms1G as kafka-server-start.sh).",
                    num(r, "kafka_broker_peak_rss_mb")));
        }
        if (r.containsKey("s3_server_peak_rss_mb")) {
            md.append(String.format(Locale.ROOT, " S3 server peak RSS %.0f MB.", num(r, "s3_server_peak_rss_mb")));
        }
        md.append("\n\n![ingestion](compare-").append(o.mode()).append("-ingest.png)\n\n");
    }

    private void latencyTable(StringBuilder md) {
        Map<String, Object> lat = map(r.get("latency"));
        if (lat == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## Append→visible latency%n%nOne producer process paced at %.0f steps/s (open loop), one reader "
                + "process with all %d ranks. Latency of a step = the last rank's `next()` (Lakestream) or `poll()` (Kafka, end to end "
                + "with acks=all) returning it, minus the wall-clock time the producer handed it over (stamped in the payload). "
                + "`file, commit each` commits every step (group 1); the others use the library's default group commit. "
                + "With fewer than 1,000 steps p99.9 is the maximum.%n%n",
                o.latencyRate(), o.worldSize()));
        md.append("| side | steps | p50 ms | p99 ms | p99.9 ms | max ms | p99 / Kafka p99 |\n|---|---:|---:|---:|---:|---:|---:|\n");
        double kp99 = num(path("latency", "kafka", "latency"), "p99_ms");
        for (Map.Entry<String, Object> e : lat.entrySet()) {
            Map<String, Object> l = map(map(e.getValue()).get("latency"));
            md.append("| ").append(label(e.getKey())).append(" | ").append(l.get("count")).append(" | ").append(ms(num(l, "p50_ms")))
                    .append(" | ").append(ms(num(l, "p99_ms"))).append(" | ").append(ms(num(l, "p999_ms"))).append(" | ")
                    .append(ms(num(l, "max_ms"))).append(" | ").append(f2(num(l, "p99_ms") / kp99)).append(" |\n");
        }
        md.append("\n![append to visible latency CDF](compare-").append(o.mode()).append("-latency-cdf.png)\n\n");
    }

    private void fetchTable(StringBuilder md) {
        Map<String, Object> f = map(r.get("fetch"));
        if (f == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## Fetch latency for written data%n%nOne reader process with all %d ranks drains data written "
                + "before it started (page cache hot): time of each `next()` (Lakestream, one rank-step) or each `poll()` with "
                + "`max.poll.records=1` (Kafka, one record = one rank shard), both with the clients' own prefetching.%n%n", o.worldSize()));
        md.append("| side | shards | p50 ms | p99 ms | p99 / Kafka p99 | MB/s | reader CPU-s/GB | total CPU-s/GB | reader peak RSS MB |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        double kp99 = num(path("fetch", "kafka", "latency"), "p99_ms");
        for (Map.Entry<String, Object> e : f.entrySet()) {
            Map<String, Object> x = map(e.getValue());
            Map<String, Object> l = map(x.get("latency"));
            md.append("| ").append(label(e.getKey())).append(" | ").append(l.get("count")).append(" | ").append(ms(num(l, "p50_ms")))
                    .append(" | ").append(ms(num(l, "p99_ms"))).append(" | ").append(f2(num(l, "p99_ms") / kp99)).append(" | ")
                    .append(f1(num(x, "mb_per_s"))).append(" | ").append(f2(num(x, "client_cpu_s_per_gb"))).append(" | ")
                    .append(f2(num(x, "total_cpu_s_per_gb"))).append(" | ").append(f1(num(x, "client_peak_rss_mb"))).append(" |\n");
        }
        md.append("\n![fetch latency CDF](compare-").append(o.mode()).append("-fetch-cdf.png)\n\n");
    }

    private void growthTable(StringBuilder md) {
        Map<String, Object> g = map(r.get("growth"));
        if (g == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## DAC: commit rate as the stream grows%n%nOne producer commits %d tiny steps (%d B per rank "
                + "shard, group 1: one manifest version per step) on a stream that already holds N committed steps (file:// streams "
                + "are built once and cached under `%s`), while a rank-0 reader follows. `open` is `TgbProducer.open` (epoch claim "
                + "included). Each size is measured 3 times (--smoke: once), round robin over the sizes; the table shows the round with the median "
                + "commit rate, the last column every round's rate.%n%n", o.growthCommits(), o.dacShardBytes(), o.cache()));
        md.append("| store | committed steps | open ms | commits/s | commit p50 ms | commit p99 ms | visible p50 ms | visible p99 ms | "
                + "rate / rate at smallest | rounds commits/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Map.Entry<String, Object> s : g.entrySet()) {
            double base = Double.NaN;
            for (Map.Entry<String, Object> e : map(s.getValue()).entrySet()) {
                Map<String, Object> x = map(e.getValue());
                double rate = num(x, "commits_per_s");
                if (Double.isNaN(base)) {
                    base = rate;
                }
                md.append("| ").append(s.getKey()).append(" | ").append(String.format(Locale.ROOT, "%,d", ((Number) x.get("start_steps")).longValue()))
                        .append(" | ").append(f1(num(x, "open_ms"))).append(" | ").append(f1(rate)).append(" | ")
                        .append(ms(num(map(x.get("commit")), "p50_ms"))).append(" | ").append(ms(num(map(x.get("commit")), "p99_ms")))
                        .append(" | ").append(ms(num(map(x.get("visible")), "p50_ms"))).append(" | ")
                        .append(ms(num(map(x.get("visible")), "p99_ms"))).append(" | ").append(f2(rate / base)).append(" | ")
                        .append(rounds(x.get("rounds_commits_per_s"))).append(" |\n");
            }
        }
        md.append("\n![commit rate vs committed steps](compare-").append(o.mode()).append("-growth.png)\n\n");
    }

    private void dacTable(StringBuilder md) {
        Map<String, Object> d = map(r.get("dac"));
        if (d == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## DAC: producers racing for versions%n%nN producers (threads in one process, each its own "
                + "`TgbProducer`, no traffic between them) append %d B rank shards flat out for %.0f s. **DAC** = the library's "
                + "default adaptive group commit; **fixed** = `ProducerOptions.withGroup(4, 4, false)`. Visible = append→visible on a "
                + "rank-0 reader in the same process.%n%n", o.dacShardBytes(), o.dacSeconds()));
        md.append("| store | group | producers | steps/s | commits/s | conflicts/commit | visible p50 ms | visible p99 ms |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Object> s : d.entrySet()) {
            for (Map.Entry<String, Object> v : map(s.getValue()).entrySet()) {
                for (Map.Entry<String, Object> e : map(v.getValue()).entrySet()) {
                    Map<String, Object> x = map(e.getValue());
                    md.append("| ").append(s.getKey()).append(" | ").append(v.getKey()).append(" | ").append(e.getKey()).append(" | ")
                            .append(f1(num(x, "steps_per_s"))).append(" | ").append(f1(num(x, "commits_per_s"))).append(" | ")
                            .append(f2(num(x, "conflicts_per_commit"))).append(" | ").append(ms(num(map(x.get("visible")), "p50_ms")))
                            .append(" | ").append(ms(num(map(x.get("visible")), "p99_ms"))).append(" |\n");
                }
            }
        }
        md.append("\n![DAC throughput vs producers](compare-").append(o.mode()).append("-dac.png)\n");
        md.append("![DAC group size and conflicts over time](compare-").append(o.mode()).append("-dac-series.png)\n\n");
    }

    // ---------------------------------------------------------------- helpers

    private List<String> present(Map<String, Object> section) {
        List<String> out = new ArrayList<>();
        for (String s : STORES) {
            if (section.containsKey(s)) {
                out.add(s);
            }
        }
        return out;
    }

    static String label(String store) {
        return switch (store) {
            case "file" -> "Lakestream file://";
            case "file-commit-each" -> "Lakestream file://, commit each";
            case "s3" -> "Lakestream s3://";
            case "kafka" -> "Kafka";
            case "kafka-flush" -> "Kafka flush";
            default -> store;
        };
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    private Map<String, Object> path(String... keys) {
        Object cur = r;
        for (String k : keys) {
            Map<String, Object> m = map(cur);
            if (m == null) {
                return null;
            }
            cur = m.get(k);
        }
        return map(cur);
    }

    private static String rounds(Object list) {
        if (!(list instanceof List<?> l)) {
            return "";
        }
        List<String> out = new ArrayList<>();
        for (Object v : l) {
            out.add(v instanceof Number n ? String.format(Locale.ROOT, "%.0f", n.doubleValue()) : "?");
        }
        return String.join(", ", out);
    }

    private static String lastKey(Map<String, Object> m) {
        String last = "1";
        if (m != null) {
            for (String k : m.keySet()) {
                last = k;
            }
        }
        return last;
    }

    private static double num(Map<String, Object> m, String f) {
        return Compare.num(m, f);
    }

    static String f0(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.0f", d);
    }

    static String f1(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.1f", d);
    }

    static String f2(double d) {
        return Double.isNaN(d) || Double.isInfinite(d) ? "n/a" : String.format(Locale.ROOT, "%.2f", d);
    }

    private static String ms(double d) {
        return Latencies.ms(d);
    }
}
