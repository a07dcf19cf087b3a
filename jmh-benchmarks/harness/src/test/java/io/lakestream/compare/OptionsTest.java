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
        assertEquals(List.of(1_000L, 10_000L, 100_000L, 1_000_000L), full.growthSizesFile());
        assertEquals(List.of(1, 2, 4, 8, 16), full.dacProducers());
        assertEquals(256 * 1024, full.shardBytes());
        assertEquals(ROOT.resolve("jmh-benchmarks/results"), full.out());
        assertEquals(ROOT.resolve("jmh-benchmarks/target/cache"), full.cache());

        Options quick = Options.parse(new String[] {"--quick", "--producers", "1,3", "--shard-kib", "64", "--growth-sizes", "1k,1m"}, ROOT);
        assertEquals("quick", quick.mode());
        assertEquals(List.of(1, 3), quick.producers());
        assertEquals(64 * 1024, quick.shardBytes());
        assertEquals(List.of(1_000L, 1_000_000L), quick.growthSizesFile());
        assertTrue(quick.has("ingest") && quick.store("kafka-flush"));
        assertEquals(List.of("file"), List.copyOf(quick.dacStores()));

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
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--steps", "x"}, ROOT))
                .getMessage().contains("not a number"));
        assertTrue(assertThrows(Options.UsageException.class, () -> Options.parse(new String[] {"--steps"}, ROOT))
                .getMessage().contains("needs a value"));
    }
}
