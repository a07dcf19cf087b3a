package io.lakestream.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one run as markdown tables (medians with 95 % bootstrap intervals, and
 * Lakestream/Kafka ratios with theirs), the targets judged on the conservative end of
 * each interval, and the one-line summary the run ends with. Reads only the results map, so it
 * can be regenerated from a saved JSON file.
 */
final class Summary {
    private static final List<String> STORES = Options.STORES;
    private final Map<String, Object> r;
    private final Options o;

    Summary(Map<String, Object> results, Options o) {
        this.r = results;
        this.o = o;
    }

    // ---------------------------------------------------------------- the headline ratios

    Stats.Interval headline(String figure) {
        return Stats.Interval.of(map(r.get("headline")) == null ? null : map(r.get("headline")).get(figure));
    }

    /** "100k/1k" from the two growth sizes the commit-rate ratio compares. */
    String commitSizes() {
        Map<String, Object> h = map(r.get("headline"));
        Object sizes = h == null ? null : h.get("commit_rate_sizes");
        if (sizes instanceof List<?> l && l.size() == 2) {
            return size(((Number) l.get(1)).longValue()) + "/" + size(((Number) l.get(0)).longValue());
        }
        return "100k/1k";
    }

    static String size(long n) {
        if (n >= 1_000_000 && n % 1_000_000 == 0) {
            return n / 1_000_000 + "M";
        }
        if (n >= 1_000 && n % 1_000 == 0) {
            return n / 1_000 + "k";
        }
        return Long.toString(n);
    }

    /**
     * {@code ingestion lakestream/kafka = X.XX [lo-hi], visible p50 = A.AA, p99 = Y.YY [lo-hi], fetch p50 = B.BB, p99 = C.CC,
     * commit rate 100k/1k = Z.ZZ}: Lakestream file:// / tuned Kafka with flush.messages=1, one producer; the
     * numbers are the point estimates (ratios of medians or of pooled percentiles), brackets their 95 % intervals.
     */
    String finalLine() {
        return String.format(Locale.ROOT, "ingestion lakestream/kafka = %s, visible p50 = %s, p99 = %s, fetch p50 = %s, p99 = %s, "
                        + "commit rate %s = %s", withInterval(headline("ingest")), f2(headline("visible_p50").value()),
                withInterval(headline("visible_p99")), f2(headline("fetch_p50").value()), f2(headline("fetch_p99").value()),
                commitSizes(), f2(headline("commit_rate").value()));
    }

    static String withInterval(Stats.Interval iv) {
        if (!iv.known()) {
            return "n/a";
        }
        return f2(iv.value()) + " [" + f2(iv.lo()) + "-" + f2(iv.hi()) + "]";
    }

    // ---------------------------------------------------------------- targets

    record Check(String target, String measured, Boolean met) {}

    /** The targets, each judged on the conservative end of its interval (lo for "at least", hi for "at most"). */
    List<Check> checks() {
        List<Check> out = new ArrayList<>();
        String k = str(map(r.get("headline")), "against");
        String kl = k == null ? "tuned Kafka" : label(k);
        Stats.Interval in = headline("ingest");
        String ls = lakestreamIngestSide();
        out.add(new Check("ingestion " + label(ls).replace("Lakestream ", "") + " >= 3x " + kl + ", 1 producer (lower end)", ratioText(in),
                atLeast(in, 3)));
        Stats.Interval v50 = headline("visible_p50");
        out.add(new Check("append->visible p50 <= " + kl + "'s (upper end)", ratioText(v50), atMost(v50, 1)));
        Stats.Interval v99 = headline("visible_p99");
        out.add(new Check("append->visible p99 <= " + kl + "'s (upper end)", ratioText(v99), atMost(v99, 1)));
        Stats.Interval f50 = headline("fetch_p50");
        out.add(new Check("fetch p50 (written data) <= Kafka's (upper end)", ratioText(f50), atMost(f50, 1)));
        Stats.Interval f99 = headline("fetch_p99");
        out.add(new Check("fetch p99 (written data) <= 0.5x Kafka's (upper end)", ratioText(f99), atMost(f99, 0.5)));
        Stats.Interval cr = headline("commit_rate");
        out.add(new Check("commit rate at " + commitSizes().replace("/", " versions >= 0.9x at ") + " versions (lower end)", ratioText(cr),
                atLeast(cr, 0.9)));
        Map<String, Object> lsIn = path("ingest", ls, "1");
        Map<String, Object> kIn = k == null ? null : path("ingest", k, "1");
        double lsCpu = num(lsIn, "client_cpu_s_per_gb");
        double kCpu = num(kIn, "total_cpu_s_per_gb");
        out.add(new Check("producer CPU-s/GB <= 0.5x Kafka producer + broker (medians)", f2(lsCpu) + " vs " + f2(kCpu) + " = " + f2(lsCpu / kCpu) + "x",
                met(lsCpu <= 0.5 * kCpu, lsCpu, kCpu)));
        double lsRss = num(lsIn, "client_peak_rss_mb");
        double kRss = num(kIn, "client_peak_rss_mb");
        out.add(new Check("producer RSS <= Kafka producer's, same -Xmx (medians)", f0(lsRss) + " vs " + f0(kRss) + " MB", met(lsRss <= kRss, lsRss, kRss)));
        String kf = k == null ? null : path("fetch", k) != null ? k : path("fetch", k.replace("-flush", "")) != null ? k.replace("-flush", "") : null;
        double lsR = num(path("fetch", "file"), "client_peak_rss_mb");
        double kR = kf == null ? Double.NaN : num(path("fetch", kf), "client_peak_rss_mb");
        out.add(new Check("reader RSS <= Kafka consumer's, same -Xmx (medians)", f0(lsR) + " vs " + f0(kR) + " MB", met(lsR <= kR, lsR, kR)));
        out.add(new Check("<= 1 KiB allocated per step (read path) and per batch (producer)", "see ./jmh-benchmarks/run.sh (gc.alloc.rate.norm)", null));
        return out;
    }

    /** The Lakestream side of the headline's ingestion figures (Compare's choice, recorded in the headline). */
    private String lakestreamIngestSide() {
        String ls = str(map(r.get("headline")), "lakestream_ingest");
        return ls == null ? "file" : ls;
    }

    private static String ratioText(Stats.Interval iv) {
        return iv.known() ? withInterval(iv) + "x" : "n/a";
    }

    private static Boolean atLeast(Stats.Interval iv, double target) {
        return Double.isNaN(iv.lo()) ? null : iv.lo() >= target;
    }

    private static Boolean atMost(Stats.Interval iv, double target) {
        return Double.isNaN(iv.hi()) ? null : iv.hi() <= target;
    }

    private static Boolean met(boolean ok, double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? null : ok;
    }

    String targetsText() {
        StringBuilder sb = new StringBuilder("targets of issue 23 (conservative end of each 95 % interval):\n");
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
                        + "%.0f s, seed %s. Payload: %d KiB per rank shard x W=%d = %s KiB per step, pre-generated random int32 tokens, "
                        + "the same bytes for both; everything on one disk (temporary directory). Every producer and reader process, "
                        + "Lakestream's and Kafka's, runs with `%s`.%n%n",
                o.mode().equals("full") ? "" : " --" + o.mode(), meta.get("date"), meta.get("cores"), meta.get("jdk"), meta.get("load_start"),
                meta.get("load_end"), num(meta, "wall_s"), meta.get("seed"), o.shardBytes() / 1024, o.worldSize(),
                (long) o.shardBytes() * o.worldSize() / 1024, meta.get("client_jvm_opts")));
        md.append(String.format(Locale.ROOT, """
                **Method.** Every figure: %d repeats, interleaved (in each repeat the cases run in an order shuffled with the seed,
                Lakestream and Kafka cases alternating, the side that starts alternating between repeats); the disks are synced before
                each case, which then waits (at most 60 s) until the disk is quiet (I/O pressure below 5 %% of 500 ms); a case that
                started with the 1-minute load average above %.1f, with the CPUs contended (CPU pressure of 10 %% or more), was rerun
                (at most %d times; %s reruns in this run; every repeat's load, CPU and I/O pressure is in the JSON). Throughput windows: %.0f s or %d MiB, whichever came first, after a
                warm-up of 64 MiB chunks that ends when two consecutive chunks agree within 15 %%. Figures are medians over the repeats
                (latency percentiles: of every repeat's samples pooled) with 95 %% bootstrap intervals in brackets (latency: two-level,
                repeats then samples); a ratio's interval resamples both sides independently. Targets are judged on the conservative
                end of the interval. Both sides' readers start reading at GO (Lakestream's reader is opened at its first `next()`).

                """, o.repeats(), o.loadThreshold(), o.maxReruns(), meta.get("reruns"), o.windowSeconds(), o.windowBytes() >> 20));
        md.append("""
                Sides: **Lakestream file://** (every object and manifest version fsynced before a commit returns; **direct I/O**:
                the same with `?direct_io=true`, batch objects written with O_DIRECT, ingestion only, the headline's Lakestream side
                where it ran: a producer machine whose readers run elsewhere), **Lakestream s3://**
                (the embedded S3 server, S3Proxy filesystem-nio2, its own process), **Kafka** 4.4.0 (one KRaft broker, one partition
                per rank, replication 1, producer acks=all with idempotence), tuned (**Kafka**: batches, requests and fetches sized for
                256 KiB records, linger.ms and compression from the grid below) and at the clients' defaults (**Kafka defaults**), each
                at the broker's default durability (acknowledged from the page cache) and with `flush.messages=1` (**flush**: fsync
                before the acknowledgement, the durability that matches Lakestream's file://). CPU is user+system time from /proc over
                the timed part, RSS the process's peak (VmHWM). Client = the producer or reader process; total adds the broker or S3 server.

                """);
        gridTable(md);
        ingestTables(md);
        latencyTable(md);
        fetchTable(md);
        growthTable(md);
        dacTable(md);
        md.append("## Targets (issue 23), on the conservative end of each interval\n\n| target | measured | |\n|---|---|---|\n");
        for (Check c : checks()) {
            md.append("| ").append(c.target()).append(" | ").append(c.measured()).append(" | ")
                    .append(c.met() == null ? "n/a" : c.met() ? "met" : "**missed**").append(" |\n");
        }
        md.append("\n`").append(finalLine()).append("`\n");
        return md.toString();
    }

    private void gridTable(StringBuilder md) {
        Map<String, Object> g = map(r.get("kafka_grid"));
        if (g == null || g.isEmpty()) {
            return;
        }
        md.append("## Tuned Kafka: the producer grid\n\nOne producer, one window per point (order shuffled); the best MB/s is what the "
                + "tuned Kafka runs with in the ingestion and fetch sections (latency runs use linger.ms=0). Fixed: batch.size 1 MiB, "
                + "max.request.size 8 MiB, buffer.memory 64 MiB, send.buffer.bytes -1; broker message.max.bytes and topic "
                + "max.message.bytes 8 MiB + 64 KiB; consumer fetch.max.bytes 16 MiB, max.partition.fetch.bytes 8 MiB, "
                + "receive.buffer.bytes -1.\n\n| durability | linger.ms | compression.type | MB/s | load | |\n|---|---:|---|---:|---:|---|\n");
        for (Map.Entry<String, Object> e : g.entrySet()) {
            Map<String, Object> s = map(e.getValue());
            Map<String, Object> best = map(s.get("best"));
            for (Object p : (List<?>) s.get("points")) {
                Map<String, Object> x = map(p);
                boolean isBest = best != null && String.valueOf(best.get("linger")).equals(String.valueOf(x.get("linger")))
                        && String.valueOf(best.get("compression")).equals(String.valueOf(x.get("compression")));
                md.append("| ").append(label(e.getKey())).append(" | ").append(x.get("linger")).append(" | ").append(x.get("compression"))
                        .append(" | ").append(f1(num(x, "mb_per_s"))).append(" | ").append(f2(num(x, "load_1m"))).append(" | ")
                        .append(isBest ? "**best**" : "").append(" |\n");
            }
        }
        md.append('\n');
    }

    private static String ci(Object m, boolean millis) {
        Stats.Interval iv = Stats.Interval.of(m);
        if (!iv.known()) {
            return "n/a";
        }
        return millis ? ms(iv.value()) + " [" + ms(iv.lo()) + "-" + ms(iv.hi()) + "]"
                : f1(iv.value()) + " [" + f1(iv.lo()) + "-" + f1(iv.hi()) + "]";
    }

    /** Per-repeat values of {@code field} from a case's {@code repeats} list. */
    static double[] repeatValues(Map<String, Object> c, String field) {
        Object l = c == null ? null : c.get("repeats");
        if (!(l instanceof List<?> list)) {
            return new double[0];
        }
        return list.stream().mapToDouble(x -> num(map(x), field)).filter(d -> !Double.isNaN(d)).toArray();
    }

    private long seed() {
        Map<String, Object> meta = map(r.get("meta"));
        return meta != null && meta.get("seed") instanceof Number n ? n.longValue() : 1;
    }

    private void ingestTables(StringBuilder md) {
        Map<String, Object> in = map(r.get("ingest"));
        if (in == null) {
            return;
        }
        String k = str(map(r.get("headline")), "against");
        md.append("## Ingestion\n\nMB/s (10^6 B/s) of payload from GO until every producer's last commit (Lakestream) or flush "
                + "(Kafka) returned. N producers = N threads in one producer process, each with its own client. Median [95 % interval] "
                + "over the repeats.\n\n");
        md.append("| producers |");
        List<String> cols = present(in);
        for (String s : cols) {
            md.append(' ').append(label(s)).append(" MB/s |");
        }
        String ls = lakestreamIngestSide();
        boolean ratios = in.containsKey(ls) && k != null && in.containsKey(k);
        if (ratios) {
            md.append(' ').append(label(ls).replace("Lakestream ", "")).append(" / ").append(label(k)).append(" |");
        }
        md.append("\n|---:|").append("---:|".repeat(cols.size() + (ratios ? 1 : 0))).append('\n');
        for (int n : o.producers()) {
            String key = Integer.toString(n);
            md.append("| ").append(n).append(" |");
            for (String s : cols) {
                md.append(' ').append(ci(path("ingest", s, key) == null ? null : path("ingest", s, key).get("mb_per_s_ci"), false)).append(" |");
            }
            if (ratios) {
                double[] a = repeatValues(path("ingest", ls, key), "mb_per_s");
                double[] b = repeatValues(path("ingest", k, key), "mb_per_s");
                md.append(' ').append(withInterval(Stats.medianRatio(a, b, seed() + n))).append(" |");
            }
            md.append('\n');
        }
        md.append("\nCPU and memory of the ingestion runs (medians over the repeats):\n\n| side | producers | client CPU-s/GB | total CPU-s/GB "
                + "(with broker or S3 server) | producer process peak RSS MB | warm-up converged |\n|---|---:|---:|---:|---:|---|\n");
        for (String s : cols) {
            for (int n : o.producers()) {
                Map<String, Object> x = path("ingest", s, Integer.toString(n));
                md.append("| ").append(label(s)).append(" | ").append(n).append(" | ").append(f2(num(x, "client_cpu_s_per_gb")))
                        .append(" | ").append(f2(num(x, "total_cpu_s_per_gb"))).append(" | ").append(f1(num(x, "client_peak_rss_mb")))
                        .append(" | ").append(x == null ? "n/a" : x.get("warmup_converged")).append(" |\n");
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
                + "process with all %d ranks, %d measured steps per repeat after the warm-up steps (at least %.0f s; the warm-up check "
                + "compares the p50 of the first and last fifth of the measured steps: within 25 %%, or 0.2 ms). Latency of a step = the last rank's "
                + "`next()` (Lakestream) or `poll()` (Kafka, end to end with acks=all) returning it, minus the wall-clock time the producer "
                + "handed it over (stamped in the payload). Percentiles of every repeat's steps pooled, [95 %% interval]. "
                + "`file, commit each` commits every step (group 1); the others use the library's default group commit.%n%n",
                o.latencyRate(), o.worldSize(), o.latencySamples(), o.latencyWarmupSeconds()));
        md.append("| side | steps | p50 ms | p99 ms | p99.9 ms | max ms | warm-up check |\n|---|---:|---:|---:|---:|---:|---|\n");
        for (Map.Entry<String, Object> e : lat.entrySet()) {
            Map<String, Object> x = map(e.getValue());
            Map<String, Object> l = map(x.get("latency"));
            md.append("| ").append(label(e.getKey())).append(" | ").append(l.get("count")).append(" | ").append(ci(x.get("p50_ci"), true))
                    .append(" | ").append(ci(x.get("p99_ci"), true)).append(" | ").append(ms(num(l, "p999_ms"))).append(" | ")
                    .append(ms(num(l, "max_ms"))).append(" | ").append(Boolean.TRUE.equals(x.get("warmup_ok")) ? "ok" : "**trend**").append(" |\n");
        }
        for (Map.Entry<String, Object> e : lat.entrySet()) {
            Map<String, Object> st = map(map(e.getValue()).get("jfr_stages"));
            if (st != null && st.get("stages") instanceof List<?> rows) {
                md.append("\nWhere ").append(label(e.getKey())).append("'s append→visible time went, stage by stage (`--jfr`: the "
                        + "producer's `io.lakestream.BatchWrite` and `Commit` events, the reader's `FollowerNews` and `ShardFetch`; ")
                        .append(st.get("slow_steps")).append(" slowest steps (the top 1 %) against all ").append(st.get("steps"))
                        .append("):\n\n| stage | slow steps p50 ms | slow steps max ms | longest stage in | every step p50 ms | every step p99 ms |\n"
                        + "|---|---:|---:|---:|---:|---:|\n");
                for (Object row : rows) {
                    Map<String, Object> t = map(row);
                    md.append("| ").append(t.get("stage")).append(" | ").append(f2(num(t, "slow_p50_ms"))).append(" | ")
                            .append(f2(num(t, "slow_max_ms"))).append(" | ").append(t.get("slow_longest")).append(" of ")
                            .append(st.get("slow_steps")).append(" | ").append(f2(num(t, "all_p50_ms"))).append(" | ")
                            .append(f2(num(t, "all_p99_ms"))).append(" |\n");
                }
            }
            Object tail = map(e.getValue()).get("jfr_tail");
            if (tail instanceof List<?> rows && !rows.isEmpty()) {
                md.append("\nWhat the slowest 1 % of ").append(label(e.getKey())).append("'s steps waited for (flight recordings of the "
                        + "producer and the reader, `--jfr`; overlap of each wait with the slow steps' hand-over→visible windows, and "
                        + "with every step's as a baseline; ranked by share of the slow windows' time minus share of all windows' time):\n\n"
                        + "| wait | slow steps touched | ms per slow step | max ms | share of slow windows | share of all windows |\n"
                        + "|---|---:|---:|---:|---:|---:|\n");
                for (Object row : rows) {
                    Map<String, Object> t = map(row);
                    md.append("| `").append(t.get("wait")).append("` | ").append(t.get("slow_steps_touched")).append(" of ")
                            .append(t.get("slow_steps")).append(" | ").append(f2(num(t, "ms_per_slow_step"))).append(" | ")
                            .append(f1(num(t, "max_ms"))).append(" | ").append(String.format(Locale.ROOT, "%.0f %%", 100 * num(t, "share_of_slow_windows")))
                            .append(" | ").append(String.format(Locale.ROOT, "%.0f %%", 100 * num(t, "share_of_all_windows"))).append(" |\n");
                }
            }
        }
        Stats.Interval p50 = headline("visible_p50");
        Stats.Interval p99 = headline("visible_p99");
        if (p50.known() || p99.known()) {
            md.append("\nLakestream file:// / ").append(label(str(map(r.get("headline")), "against"))).append(": p50 ")
                    .append(withInterval(p50)).append(", p99 ").append(withInterval(p99)).append(".\n");
        }
        md.append("\n![append to visible latency CDF](compare-").append(o.mode()).append("-latency-cdf.png)\n\n");
    }

    private void fetchTable(StringBuilder md) {
        Map<String, Object> f = map(r.get("fetch"));
        if (f == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## Fetch latency for written data%n%nEach side's data is written once (untimed); in every repeat a "
                + "fresh reader process with all %d ranks drains it (page cache hot), both sides starting to read at GO: time of each "
                + "`next()` (Lakestream, one rank-step) or each `poll()` with `max.poll.records=1` (Kafka, one record = one rank shard), "
                + "both with the clients' own prefetching; each rank's first takes are warm-up. Percentiles pooled over the repeats "
                + "[95 %% interval]; MB/s, CPU and RSS medians.%n%n", o.worldSize()));
        md.append("| side | shards | p50 ms | p99 ms | MB/s | reader CPU-s/GB | total CPU-s/GB | reader peak RSS MB | warm-up check |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Map.Entry<String, Object> e : f.entrySet()) {
            Map<String, Object> x = map(e.getValue());
            Map<String, Object> l = map(x.get("latency"));
            md.append("| ").append(label(e.getKey())).append(" | ").append(l.get("count")).append(" | ").append(ci(x.get("p50_ci"), true))
                    .append(" | ").append(ci(x.get("p99_ci"), true)).append(" | ").append(f1(num(x, "mb_per_s"))).append(" | ")
                    .append(f2(num(x, "client_cpu_s_per_gb"))).append(" | ").append(f2(num(x, "total_cpu_s_per_gb"))).append(" | ")
                    .append(f1(num(x, "client_peak_rss_mb"))).append(" | ").append(Boolean.TRUE.equals(x.get("warmup_ok")) ? "ok" : "**trend**")
                    .append(" |\n");
        }
        Stats.Interval p50 = headline("fetch_p50");
        Stats.Interval p99 = headline("fetch_p99");
        if (p50.known() || p99.known()) {
            md.append("\nLakestream file:// / tuned Kafka: p50 ").append(withInterval(p50)).append(", p99 ").append(withInterval(p99)).append(".\n");
        }
        md.append("\n![fetch latency CDF](compare-").append(o.mode()).append("-fetch-cdf.png)\n\n");
    }

    private void growthTable(StringBuilder md) {
        Map<String, Object> g = map(r.get("growth"));
        if (g == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## DAC: commit rate as the log grows%n%nOne producer commits %d tiny steps (%d B per rank "
                + "shard, one manifest version per step; the timer covers `append()` and `commit()` returning) on a log that already "
                + "holds N manifest versions of %d steps each, built by real commits (file:// logs above 1k versions are built once "
                + "and cached under `%s`; smaller ones fresh for every repeat), while a rank-0 reader follows. `open` is `TgbProducer.open` (epoch claim included). Each "
                + "size is measured in every repeat, shuffled; commits/s is the median [95 %% interval], latencies are the median "
                + "repeat's.%n%n", o.growthCommits(), o.dacShardBytes(), o.growthGroup(), o.cache()));
        md.append("| store | versions | committed steps | open ms | commits/s | commit p50 ms | commit p99 ms | visible p50 ms | visible p99 ms | "
                + "repeats commits/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Map.Entry<String, Object> s : g.entrySet()) {
            for (Map.Entry<String, Object> e : map(s.getValue()).entrySet()) {
                Map<String, Object> x = map(e.getValue());
                md.append("| ").append(s.getKey()).append(" | ").append(String.format(Locale.ROOT, "%,d", lng(x, "start_versions")))
                        .append(" | ").append(String.format(Locale.ROOT, "%,d", lng(x, "start_steps"))).append(" | ")
                        .append(f1(num(x, "open_ms"))).append(" | ").append(ci(x.get("commits_per_s_ci"), false)).append(" | ")
                        .append(ms(num(map(x.get("commit")), "p50_ms"))).append(" | ").append(ms(num(map(x.get("commit")), "p99_ms")))
                        .append(" | ").append(ms(num(map(x.get("visible")), "p50_ms"))).append(" | ")
                        .append(ms(num(map(x.get("visible")), "p99_ms"))).append(" | ").append(rounds(x.get("rounds_commits_per_s")))
                        .append(" |\n");
            }
        }
        Stats.Interval cr = headline("commit_rate");
        if (cr.known()) {
            md.append("\nCommit rate ").append(commitSizes()).append(" versions: ").append(withInterval(cr)).append(".\n");
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
        if (store == null) {
            return "Kafka";
        }
        return switch (store) {
            case "file" -> "Lakestream file://";
            case "file-commit-each" -> "Lakestream file://, commit each";
            case "file-direct" -> "Lakestream file:// direct I/O";
            case "s3" -> "Lakestream s3://";
            case "kafka" -> "Kafka tuned";
            case "kafka-flush" -> "Kafka tuned flush";
            case "kafka-default" -> "Kafka defaults";
            case "kafka-default-flush" -> "Kafka defaults flush";
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

    private static String str(Map<String, Object> m, String f) {
        Object v = m == null ? null : m.get(f);
        return v == null ? null : v.toString();
    }

    private static long lng(Map<String, Object> m, String f) {
        Object v = m == null ? null : m.get(f);
        return v instanceof Number n ? n.longValue() : -1;
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
