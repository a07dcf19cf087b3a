package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness end to end in --smoke mode (Lakestream on file:// only, tiny sizes, real child
 * JVMs): every section produces figures, the files are written, the last line has the issue's
 * format. No Kafka here: the broker belongs to the benchmark runs, not the test suite.
 */
class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void smokeRunWritesEverySectionAndTheSummaryLine() throws Exception {
        Path out = dir.resolve("results");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
                Compare.class.getName(), "--smoke", "--out", out.toString(), "--cache", dir.resolve("cache").toString(), "--tmp",
                dir.resolve("tmp").toString())
                .redirectError(dir.resolve("stderr.log").toFile())
                .start();
        String stdout = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "smoke run took over 5 minutes");
        assertEquals(0, p.exitValue(), stdout + Files.readString(dir.resolve("stderr.log")));
        List<String> lines = stdout.lines().toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("ingestion lakestream/kafka = n/a, visible p50 = n/a, p99 = n/a, "
                + "fetch p50 = n/a, p99 = n/a, commit rate 40/20 = "), stdout);
        JsonNode r = new ObjectMapper().readTree(out.resolve("compare-smoke.json").toFile());
        assertTrue(r.at("/ingest/file/2/mb_per_s").asDouble() > 0, r.toString());
        assertEquals(2, r.at("/ingest/file/2/repeats").size(), "two repeats");
        assertTrue(r.at("/ingest/file/2/mb_per_s_ci/lo").asDouble() <= r.at("/ingest/file/2/mb_per_s_ci/hi").asDouble());
        assertTrue(r.at("/ingest/file/2/repeats/0/load_1m").isNumber() && r.at("/ingest/file/2/repeats/0/warmup").size() == 2, r.toString());
        assertEquals(0, r.at("/ingest/file/2/repeats/0/bytes").asLong() % (16 * 1024 * 4), "whole steps of 4 ranks x 16 KiB");
        assertEquals(2 * 20, r.at("/latency/file/latency/count").asInt(), r.toString());
        assertTrue(r.at("/fetch/file/latency/p99_ms").asDouble() > 0, r.toString());
        assertTrue(r.at("/fetch/file/repeats/0/samples_ns").isMissingNode(), "raw samples stay out of the JSON");
        assertTrue(r.at("/growth/file/40/commits_per_s").asDouble() > 0, r.toString());
        assertTrue(r.at("/growth/file/40/start_versions").asLong() >= 40, r.toString());
        assertTrue(r.at("/dac/file/dac/2/steps").asLong() > 0, r.toString());
        assertTrue(r.at("/ingest/file/2/client_peak_rss_mb").asDouble() > 0);
        assertEquals(2 + 2 + 2 + 2 * 2, r.at("/schedule").size(), "ingest 2, latency 2, fetch 2, growth 2x2 cases, all scheduled");
        for (String png : List.of("ingest", "latency-cdf", "fetch-cdf", "growth", "dac", "dac-series")) {
            assertTrue(Files.size(out.resolve("compare-smoke-" + png + ".png")) > 1000, png);
        }
        assertTrue(Files.readString(out.resolve("compare-smoke.md")).contains("## Ingestion"));
        try (var left = Files.list(dir.resolve("tmp"))) {
            assertEquals(0, left.count(), "the run's scratch directory is removed");
        }
    }
}
