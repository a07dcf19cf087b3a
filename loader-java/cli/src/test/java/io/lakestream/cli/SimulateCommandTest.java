package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code simulate}, and the stream settings the simulation recommends at scale ({@code produce --data-layout}). */
class SimulateCommandTest {
    @TempDir
    Path dir;

    @Test
    void produceCreatesAHashedLayoutStreamThatConsumeReads() throws Exception {
        String uri = "file://" + dir.resolve("h");
        Cli.Result p = Cli.run("produce", "--stream", uri, "--producer", "tok", "--world-size", "2", "--micro-batch", "2",
                "--seq-len", "4", "--source", "synthetic:records=24,seed=1", "--data-layout", "hashed", "--index-segment-bytes",
                "4096");
        assertEquals(0, p.exit(), p.err());
        String config = Files.readString(dir.resolve("h").resolve("_lakestream.json"), StandardCharsets.UTF_8);
        assertTrue(config.contains("\"data_layout\":\"hashed\"") && config.contains("\"index_segment_bytes\":4096"), config);
        try (var files = Files.list(dir.resolve("h").resolve("data"))) {
            assertTrue(files.allMatch(d -> d.getFileName().toString().matches("[0-9a-f]{2}")), "hash prefixes under data/");
        }
        Cli.Result i = Cli.run("inspect", "--stream", uri, "--json");
        assertTrue(i.out().matches("(?s).*\"format_version\" ?: ?2\\b.*") && i.out().matches("(?s).*\"data_layout\" ?: ?\"hashed\".*"), i.out());
        Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", "1", "--world-size", "2", "--steps", "6", "--print", "ids");
        assertEquals(0, c.exit(), c.err());
        assertEquals(6, c.out().lines().count(), c.out());
        Cli.Result bad = Cli.run("produce", "--stream", "file://" + dir.resolve("x"), "--producer", "tok", "--world-size", "2",
                "--micro-batch", "2", "--seq-len", "4", "--source", "synthetic:records=4,seed=1", "--data-layout", "spread");
        assertEquals(Main.EXIT_ERROR, bad.exit());
        assertTrue(bad.err().contains("data_layout 'spread'"), bad.err());
    }

    @Test
    void simulateRunsBothLayoutsAndEndsWithTheSummaryLine() {
        Cli.Result r = Cli.run("simulate", "--ranks", "16", "--producers", "2", "--steps", "40", "--store", "s3-model", "--seed", "3",
                "--idle-s", "1");
        assertEquals(0, r.exit(), r.out() + r.err());
        String[] lines = r.out().strip().split("\n");
        assertTrue(lines[lines.length - 1].matches(
                "max PUT/s per prefix = \\d+, max GET/s per prefix = \\d+, 503s = \\d+, \\$ per 1M steps = [0-9.]+"), r.out());
        assertTrue(r.out().contains("| 16 | 2 | producer |") && r.out().contains("| 16 | 2 | hashed |"), r.out());
        assertTrue(r.out().contains("committed steps: 40"), r.out());
    }

    @Test
    void anUnknownStoreIsAUsageError() {
        Cli.Result r = Cli.run("simulate", "--store", "s3", "--steps", "1");
        assertEquals(Main.EXIT_USAGE, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("s3-model"), r.err());
    }
}
