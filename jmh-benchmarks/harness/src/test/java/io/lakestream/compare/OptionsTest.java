package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class OptionsTest {
    private static final Path ROOT = Path.of("/repo");

    @Test
    void presetsAndOverrides() {
        Options full = Options.parse(new String[0], ROOT);
        assertEquals("full", full.mode());
        assertEquals(List.of(1, 2, 4, 8), full.producers());
        assertEquals(List.of(1_000L, 10_000L, 100_000L), full.growthVersions());
        assertEquals(10, full.growthGroup());
        assertEquals(List.of(1, 2, 4, 8, 16), full.dacProducers());
        assertEquals(256 * 1024, full.shardBytes());
        assertTrue(full.repeats() >= 5 && full.windowSeconds() >= 20 && full.windowBytes() >= 2L << 30, full.toString());
        assertTrue(full.repeats() * full.latencySamples() >= 2000, "full mode: >= 2,000 latency samples per side");
        assertEquals(Options.STORES, List.copyOf(full.stores()));
        // results go under target/ unless published
        assertEquals(ROOT.resolve("jmh-benchmarks/target/results"), full.out());
        assertEquals(ROOT.resolve("jmh-benchmarks/results"), Options.parse(new String[] {"--publish"}, ROOT).out());
        assertEquals(ROOT.resolve("jmh-benchmarks/target/cache"), full.cache());
        assertTrue(full.clientJvm().contains("-Xmx512m"));

        Options quick = Options.parse(new String[] {"--quick", "--producers", "1,3", "--shard-kib", "64", "--growth-versions", "1k,100k",
                "--seed", "7", "--linger-grid", "0,5"}, ROOT);
        assertEquals("quick", quick.mode());
        assertEquals(List.of(1, 3), quick.producers());
        assertEquals(64 * 1024, quick.shardBytes());
        assertEquals(List.of(1_000L, 100_000L), quick.growthVersions());
        assertEquals(7, quick.seed());
        assertEquals(List.of(0, 5), quick.lingerGrid());
        assertTrue(quick.has("ingest") && quick.store("kafka-flush") && quick.store("kafka-default-flush") && !quick.has("dac"));

        Options smoke = Options.parse(new String[] {"--smoke", "--only", "ingest,fetch"}, ROOT);
        assertTrue(!smoke.kafka() && smoke.has("fetch") && !smoke.has("dac"));
    }

    @Test
    void badCommandLinesSayWhy() {
        assertEquals("unknown option --nope", assertThrows(Options.UsageException.class,
                () -> Options.parse(new String[] {"--nope", "1"}, ROOT)).getMessage());
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--only", "ingest,speed"}, ROOT))
                .getMessage().contains("unknown 'speed'"));
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--producers", "0"}, ROOT))
                .getMessage().contains(">= 1"));
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--repeats", "x"}, ROOT))
                .getMessage().contains("not a number"));
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--repeats"}, ROOT))
                .getMessage().contains("needs a value"));
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--repeats", "0"}, ROOT))
                .getMessage().contains(">= 1"));
    }
}
