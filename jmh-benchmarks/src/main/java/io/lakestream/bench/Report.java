package io.lakestream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.memory.Pinners;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a JMH JSON result ({@code -rf json}, with {@code -prof gc}) into the markdown tables the
 * README quotes. Usage: {@code Report <jmh.json> <out.md> <label>}.
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Report <jmh.json> <out.md> [label]");
            System.exit(2);
        }
        JsonNode results = new ObjectMapper().readTree(Path.of(args[0]).toFile());
        String label = args.length > 2 ? args[2] : "";
        StringBuilder md = new StringBuilder();
        JsonNode first = results.size() > 0 ? results.get(0) : null;
        md.append("# Lakestream data-path benchmarks").append(label.isEmpty() ? "" : " (" + label + ")").append("\n\n");
        md.append("Generated ").append(Instant.now().toString(), 0, 16).append("Z by `io.lakestream.bench.Report` from `")
                .append(Path.of(args[0]).getFileName()).append("`. ");
        if (first != null) {
            md.append("JDK ").append(first.path("jdkVersion").asText()).append(" (").append(first.path("vmName").asText())
                    .append("), ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
                    .append(first.path("forks").asInt()).append(" fork(s) × ").append(first.path("measurementIterations").asInt())
                    .append(" measured iterations of ").append(first.path("measurementTime").asText()).append(" (after ")
                    .append(first.path("warmupIterations").asInt()).append("×").append(first.path("warmupTime").asText())
                    .append(" warm-up each). ± is JMH's 99.9 % confidence interval over all iterations of all forks. ");
        }
        md.append("Pool pinning: ").append(Pinners.describe()).append(".\n\n");

        md.append("## Per-step read latency, one rank, `file://` (StepReadBenchmark.fetchStep)\n\n");
        md.append("One ranged read of the rank's shard into a pinned pool slab, CRC32C, LZ4 decode into the same slab "
                + "(lz4 rows), tensor views. Page-cache-hot files: this is the data path's own cost.\n\n");
        md.append("| shard | codec | p50 µs | p99 µs | mean µs | samples | alloc B/op | read amplification |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        // (mean and B/op carry ± error bars)
        for (JsonNode r : sorted(results, "StepReadBenchmark.fetchStep")) {
            JsonNode pm = r.path("primaryMetric");
            JsonNode sec = r.path("secondaryMetrics");
            double fetched = sec.path("fetchedBytes").path("score").asDouble(Double.NaN);
            double delivered = sec.path("deliveredBytes").path("score").asDouble(Double.NaN);
            md.append("| ").append(size(r)).append(" | ").append(r.path("params").path("codec").asText())
                    .append(" | ").append(f1(pm.path("scorePercentiles").path("50.0").asDouble()))
                    .append(" | ").append(f1(pm.path("scorePercentiles").path("99.0").asDouble()))
                    .append(" | ").append(pm1(pm))
                    .append(" | ").append(samples(pm))
                    .append(" | ").append(pm0(sec.path("gc.alloc.rate.norm")))
                    .append(" | ").append(String.format(Locale.ROOT, "%.4f", fetched / delivered)).append(" |\n");
        }
        md.append("\nRead amplification = bytes read from the store / tensor bytes delivered (header bytes make it "
                + "slightly above 1 raw; below 1 with LZ4 when the data compresses).\n\n");

        md.append("## Decode throughput into a pinned slab (DecodeBenchmark)\n\n");
        md.append("GB/s of decoded shard bytes (10^9 B/s). memcpy = `MemorySegment.copy` of the same decoded bytes, "
                + "the floor for any decode; CRC32C is the checksum every fetch runs.\n\n");
        md.append("| shard | LZ4 decode GB/s | memcpy GB/s | decode / memcpy | CRC32C GB/s | alloc B/op (decode) |\n");
        // GB/s columns carry ± error bars
        md.append("|---|---:|---:|---:|---:|---:|\n");
        Map<Integer, Map<String, JsonNode>> bySize = new TreeMap<>();
        for (JsonNode r : results) {
            String b = r.path("benchmark").asText();
            if (b.contains("DecodeBenchmark.")) {
                bySize.computeIfAbsent(r.path("params").path("shardBytes").asInt(), k -> new TreeMap<>())
                        .put(b.substring(b.lastIndexOf('.') + 1), r);
            }
        }
        for (Map.Entry<Integer, Map<String, JsonNode>> e : bySize.entrySet()) {
            double dec = gbps(e.getValue().get("lz4Decode"));
            double cpy = gbps(e.getValue().get("memcpyBaseline"));
            double crc = gbps(e.getValue().get("crc32c"));
            JsonNode d = e.getValue().get("lz4Decode");
            md.append("| ").append(size(e.getKey())).append(" | ").append(gbpsPm(e.getValue().get("lz4Decode"))).append(" | ")
                    .append(gbpsPm(e.getValue().get("memcpyBaseline"))).append(" | ")
                    .append(f2(dec / cpy)).append(" | ").append(gbpsPm(e.getValue().get("crc32c"))).append(" | ")
                    .append(d == null ? "n/a" : f0(d.path("secondaryMetrics").path("gc.alloc.rate.norm").path("score").asDouble(Double.NaN)))
                    .append(" |\n");
        }
        List<JsonNode> next = sorted(results, "ReaderNextBenchmark.next");
        if (!next.isEmpty()) {
            md.append("\n## The whole read path per step: `RankReader.next()` + close (ReaderNextBenchmark)\n\n");
            md.append("One rank of a written 1,024-step stream (world size 1), including log following, prefetch (4), the ranged "
                    + "read into a pinned slab, CRC32C and tensor views; a new reader every 1,024 steps (included). alloc = "
                    + "`gc.alloc.rate.norm` of the whole JVM per step (every reader thread); on s3:// the S3 server is another "
                    + "process and not counted. Target: ≤ 1 KiB per step.\n\n");
            md.append("| store | shard | p50 µs | p99 µs | mean µs | samples | alloc B/op | ≤ 1 KiB |\n|---|---|---:|---:|---:|---:|---:|---|\n");
            for (JsonNode r : next) {
                JsonNode pm = r.path("primaryMetric");
                JsonNode alloc = r.path("secondaryMetrics").path("gc.alloc.rate.norm");
                double b = alloc.path("score").asDouble(Double.NaN);
                md.append("| ").append(r.path("params").path("store").asText()).append(" | ").append(size(r))
                        .append(" | ").append(f1(pm.path("scorePercentiles").path("50.0").asDouble()))
                        .append(" | ").append(f1(pm.path("scorePercentiles").path("99.0").asDouble()))
                        .append(" | ").append(pm1(pm)).append(" | ").append(samples(pm)).append(" | ").append(pm0(alloc))
                        .append(" | ").append(Double.isNaN(b) ? "n/a" : b <= 1024 ? "met" : "**missed**").append(" |\n");
            }
        }
        Files.writeString(Path.of(args[1]), md.toString());
        System.out.print(md);
    }

    private static List<JsonNode> sorted(JsonNode results, String benchmarkSuffix) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode r : results) {
            if (r.path("benchmark").asText().endsWith(benchmarkSuffix)) {
                out.add(r);
            }
        }
        out.sort((a, b) -> {
            int c = Integer.compare(a.path("params").path("shardBytes").asInt(), b.path("params").path("shardBytes").asInt());
            return c != 0 ? c : b.path("params").path("codec").asText().compareTo(a.path("params").path("codec").asText());
        });
        return out;
    }

    private static double gbps(JsonNode r) {
        if (r == null) {
            return Double.NaN;
        }
        return r.path("secondaryMetrics").path("decodedBytes").path("score").asDouble(Double.NaN) / 1e9;
    }

    /** "score ± error" of the decoded-bytes rate in GB/s. */
    private static String gbpsPm(JsonNode r) {
        if (r == null) {
            return "n/a";
        }
        JsonNode m = r.path("secondaryMetrics").path("decodedBytes");
        return f2(m.path("score").asDouble(Double.NaN) / 1e9) + " ± " + f2(m.path("scoreError").asDouble(Double.NaN) / 1e9);
    }

    /** "mean ± error" (JMH's 99.9 % confidence interval; NaN error with a single iteration shows as n/a). */
    private static String pm1(JsonNode metric) {
        return f1(metric.path("score").asDouble(Double.NaN)) + " ± " + f1(metric.path("scoreError").asDouble(Double.NaN));
    }

    private static String pm0(JsonNode metric) {
        return f0(metric.path("score").asDouble(Double.NaN)) + " ± " + f0(metric.path("scoreError").asDouble(Double.NaN));
    }

    private static long samples(JsonNode pm) {
        long n = 0;
        for (JsonNode fork : pm.path("rawDataHistogram")) {
            for (JsonNode iteration : fork) {
                for (JsonNode bucket : iteration) { // [value, count]
                    n += bucket.get(1).asLong();
                }
            }
        }
        return n;
    }

    private static String size(JsonNode r) {
        return size(r.path("params").path("shardBytes").asInt());
    }

    private static String size(int bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
    }

    private static String f0(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.0f", d);
    }

    private static String f1(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.1f", d);
    }

    private static String f2(double d) {
        return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.2f", d);
    }
}
