package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --metrics-port}: a Prometheus scrape of a real running {@code produce} and
 * {@code consume}, parsed as the text exposition format. The producer is held by flow control
 * (at most 4 steps beyond the newest checkpoint) and the consumer by the producer, so both are
 * alive and idle at known values; a checkpoint then lets both move 4 steps on.
 */
class MetricsEndpointTest {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (\\S+)");
    private static final Pattern PORT = Pattern.compile("metrics at http://[^:]+:(\\d+)/metrics");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void aRunningProducerAndConsumerServeMetricsThatMove() throws Exception {
        String uri = "file://" + dir.resolve("s");
        Path logs = dir.resolve("logs");
        Process producer = Cli.start(logs, "produce", Map.of(), "produce", "--stream", uri, "--producer", "p",
                "--world-size", "1", "--micro-batch", "2", "--seq-len", "8", "--source", "synthetic:records=1000,seed=1",
                "--max-lag-steps", "4", "--group", "1", "--fixed-group", "--metrics-port", "0");
        Process consumer = null;
        try {
            int pport = port(logs, "produce.err", producer);
            Text p = scrapeUntil(pport, t -> t.value("lakestream_producer_flow_control_waits_total") >= 1, producer);
            assertEquals("counter", p.types.get("lakestream_producer_commit_conflicts_total"));
            assertEquals("histogram", p.types.get("lakestream_producer_commit_seconds"));
            assertEquals("gauge", p.types.get("lakestream_producer_lag_steps"));
            assertEquals(4.0, p.value("lakestream_producer_lag_steps"), "held at the bound");
            assertEquals(4.0, p.value("lakestream_producer_batches_committed_total"));
            assertTrue(p.value("lakestream_producer_commit_seconds_count") >= 4);
            assertTrue(p.value("lakestream_producer_commit_seconds_bucket{le=\"+Inf\"}") >= 4);
            assertTrue(p.value("lakestream_store_requests_total{op=\"put_if_absent\"}") >= 8, "4 objects and 4+ versions");

            consumer = Cli.start(logs, "consume", Map.of(), "consume", "--stream", uri, "--rank", "0", "--world-size", "1",
                    "--steps", "100", "--timeout-s", "120", "--metrics-port", "0");
            int cport = port(logs, "consume.err", consumer);
            Text c = scrapeUntil(cport, t -> t.value("lakestream_reader_steps_total") == 4, consumer);
            assertEquals("histogram", c.types.get("lakestream_reader_wait_seconds"));
            assertEquals("counter", c.types.get("lakestream_reader_bytes_total"));
            assertEquals("gauge", c.types.get("lakestream_pool_slabs_in_use"));
            assertEquals(4.0, c.value("lakestream_reader_wait_seconds_count"));
            assertTrue(c.value("lakestream_reader_bytes_total") >= 4 * 2 * 8 * 4, "4 steps of 2 x 8 int32 tokens at least");
            assertTrue(c.value("lakestream_store_requests_total{op=\"get_range\"}") >= 4);
            assertTrue(c.value("lakestream_follower_log_polls_total") >= 1);
            double stall = c.value("lakestream_reader_data_stall_ratio");
            assertTrue(stall > 0 && stall <= 1, "stall " + stall);

            // a checkpoint at step 4 lets the producer commit 4 more and the consumer read them
            Cli.Result cp = Cli.run("checkpoint", "--stream", uri, "--step", "4");
            assertEquals(0, cp.exit(), cp.err());
            Text c2 = scrapeUntil(cport, t -> t.value("lakestream_reader_steps_total") == 8, consumer);
            assertTrue(c2.value("lakestream_reader_bytes_total") > c.value("lakestream_reader_bytes_total"));
            Text p2 = scrapeUntil(pport, t -> t.value("lakestream_producer_batches_committed_total") == 8, producer);
            assertTrue(p2.value("lakestream_producer_commit_seconds_sum") > p.value("lakestream_producer_commit_seconds_sum"));
        } finally {
            producer.destroyForcibly();
            if (consumer != null) {
                consumer.destroyForcibly();
            }
        }
    }

    /** The port the child printed on stderr (polls its log file until the line is there). */
    private static int port(Path logs, String file, Process p) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            Matcher m = PORT.matcher(Cli.read(logs, file));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!p.isAlive()) {
                throw new AssertionError(file + ": exited " + p.exitValue() + ": " + Cli.read(logs, file));
            }
            Thread.sleep(20); // polling a file, not timing
        }
        throw new AssertionError("no metrics port in " + file + ": " + Cli.read(logs, file));
    }

    private static Text scrapeUntil(int port, Predicate<Text> done, Process p) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        Text t = null;
        while (System.nanoTime() < deadline) {
            t = scrape(port);
            if (done.test(t)) {
                return t;
            }
            if (!p.isAlive()) {
                throw new AssertionError("process exited " + p.exitValue() + "; last scrape:\n" + t.raw);
            }
            Thread.sleep(50); // polling the endpoint, not timing
        }
        throw new AssertionError("condition not reached; last scrape:\n" + (t == null ? "" : t.raw));
    }

    private static Text scrape(int port) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        return Text.parse(r.body());
    }

    /** The text exposition format, parsed strictly: every line a comment or a sample, every sample of a declared family. */
    private record Text(String raw, Map<String, String> types, Map<String, Double> samples) {
        static Text parse(String body) {
            Map<String, String> types = new HashMap<>();
            Map<String, Double> samples = new HashMap<>();
            for (String line : body.split("\n")) {
                if (line.startsWith("# TYPE ")) {
                    String[] f = line.split(" ");
                    assertEquals(4, f.length, line);
                    assertTrue(List.of("counter", "gauge", "histogram").contains(f[3]), line);
                    assertTrue(types.put(f[2], f[3]) == null, "one TYPE per family: " + line);
                } else if (line.startsWith("# HELP ")) {
                    continue;
                } else {
                    Matcher m = SAMPLE.matcher(line);
                    assertTrue(m.matches(), "not a sample line: '" + line + "'");
                    String family = m.group(1).replaceAll("_(bucket|sum|count)$", "");
                    assertTrue(types.containsKey(m.group(1)) || "histogram".equals(types.get(family)),
                            "sample before its TYPE: " + line);
                    if (m.group(1).endsWith("_total")) {
                        assertEquals("counter", types.get(m.group(1)), line);
                    }
                    double v = m.group(3).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(3));
                    samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), v);
                }
            }
            return new Text(body, types, samples);
        }

        double value(String series) {
            Double v = samples.get(series);
            if (v == null) {
                throw new AssertionError("no series " + series + " in:\n" + raw);
            }
            return v;
        }
    }
}
