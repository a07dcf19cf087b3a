package io.lakestream.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GC never outruns a reader (docs/format.md §7, "Readers that lag behind GC"): a second consumer
 * (an eval job) that holds a log state from before the checkpoint that raised the floor, and asks
 * for a step whose batch object or index segment GC deleted, re-confirms the head and gets a
 * {@link BelowFloorException} naming the floor, never a missing-object error; steps it had
 * fetched before are the right bytes.
 */
class LaggingConsumerTest {
    @TempDir
    Path dir;

    static final int W = 2;

    /** 40 steps (segments of 16), checkpoints at 32 and 40 (floor 32), GC run: steps below 32 and the segment [0,16) are gone. */
    private static void checkpointAndGc(Path root) {
        FileStore fs = FileStore.open(root, false);
        ManifestLog log = ManifestLog.open(fs);
        assertTrue(fs.stat("_index/00000000000000000000.json").isPresent(), "steps 0..15 are in a segment");
        Checkpoints.record(log, 32, "ck32");
        Checkpoints.record(log, 40, "ck40");
        GcReport r = new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(32, r.batchObjects());
        assertTrue(fs.stat("_index/00000000000000000000.json").isEmpty(), "the segment below the floor was deleted");
    }

    private Path produced(String name) {
        Path root = dir.resolve(name);
        FileStore fs = FileStore.open(root, true);
        // one batch per version, so segments and the floor fall where the tests expect (group sizes vary with the writers)
        Streams.produce(fs, "p", W, 2, new SyntheticSource(160, 4, 0, 1, 8), -1, Streams.opts().withGroup(1, 1, false)).close();
        return root;
    }

    private static void lagsIntoTheFloor(Path root, RankReader lagging, List<List<Streams.Seen>> truth, int rank) {
        try (StepBatch b = lagging.next(20_000)) {
            assertEquals(0, b.step()); // it was reading before GC
        }
        checkpointAndGc(root);
        for (int i = 1; i < 40; i++) {
            try (StepBatch b = lagging.next(20_000)) {
                // prefetched before GC: the right step, the right bytes
                assertTrue(b.step() < 32, "step " + b.step());
                assertEquals(truth.get(rank).get((int) b.step()).object(), b.object());
            } catch (RuntimeException e) {
                BelowFloorException below = assertInstanceOf(BelowFloorException.class, e, "a typed below-floor error, not: " + e);
                assertEquals(32, below.floor());
                assertTrue(below.getMessage().contains("floor 32"), below.getMessage());
                return;
            }
        }
        fail("the lagging reader never reached a reclaimed step");
    }

    @Test
    void aLaggingReaderGetsBelowFloorForAReclaimedObject() {
        Path root = produced("obj");
        List<List<Streams.Seen>> truth = Streams.readAll(FileStore.open(root, false), W);
        // its own store handle, so its own follower: its state is from before the checkpoints
        try (RankReader lagging = RankReader.open(FileStore.open(root, false), 1, W, 0, ReaderOptions.defaults().withPrefetch(1))) {
            lagsIntoTheFloor(root, lagging, truth, 1);
        }
    }

    @Test
    void aLaggingElasticReaderGetsBelowFloorToo() {
        Path root = produced("elastic");
        List<List<Streams.Seen>> truth = Streams.readAll(FileStore.open(root, false), W);
        try (RankReader lagging = RankReader.openElastic(FileStore.open(root, false), 0, 1, 0, ReaderOptions.defaults().withPrefetch(1))) {
            try (StepBatch b = lagging.next(20_000)) {
                assertEquals(0, b.step());
            }
            checkpointAndGc(root);
            RuntimeException e = assertThrows(RuntimeException.class, () -> {
                for (int i = 1; i < 40; i++) {
                    lagging.next(20_000).close();
                }
            });
            assertInstanceOf(BelowFloorException.class, e, "a typed below-floor error, not: " + e);
        }
        assertTrue(truth.get(0).size() == 40);
    }

    @Test
    void aLaggingLogWhoseIndexSegmentWasReclaimedSaysBelowFloor() {
        Path root = produced("segment");
        ManifestLog lagging = ManifestLog.open(FileStore.open(root, false), true);
        assertTrue(lagging.state().indexedSteps() >= 16, "steps below 16 are in a segment: " + lagging.state().indexedSteps());
        checkpointAndGc(root);
        BelowFloorException e = assertThrows(BelowFloorException.class, () -> lagging.entry(10));
        assertEquals(32, e.floor());
    }
}
