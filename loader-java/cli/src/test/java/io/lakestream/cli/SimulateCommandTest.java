package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import org.junit.jupiter.api.Test;

class SimulateCommandTest {
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
