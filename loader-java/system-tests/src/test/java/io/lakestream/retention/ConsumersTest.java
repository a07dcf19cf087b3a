package io.lakestream.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.CheckpointRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.Streams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several consumers of one stream (a training run, an eval job, a reference run): each records
 * checkpoints under its own name, the floor is the lowest step any of them retains, GC respects
 * all of them, and records without a consumer name (every stream written before) belong to the
 * default consumer.
 */
class ConsumersTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private ObjectStore produced(long records) {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", W, 2, new SyntheticSource(records, 4, 0, 1, 8), -1, Streams.opts()).close();
        return fs;
    }

    @Test
    void theFloorIsTheLowestStepAnyConsumerRetainsAndGcRespectsEveryConsumer() {
        ObjectStore fs = produced(80); // 20 steps of 4 records
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        ManifestLog log = ManifestLog.open(fs);
        assertTrue(Checkpoints.register(log, "eval", 0).committed());
        assertFalse(Checkpoints.register(log, "eval", 0).committed(), "registering again is a no-op");
        for (long s : new long[] {4, 8, 12}) {
            Checkpoints.record(log, s, null); // the training run: the default consumer, keep 2
        }
        ManifestState st = log.refresh();
        assertEquals(0, st.floorStep(), "the eval job registered at 0 holds the floor");
        assertEquals(List.of(8L, 12L), steps(st.consumers().get(CheckpointRecord.DEFAULT_CONSUMER)));
        assertEquals(0, new GarbageCollector(log, 3_600_000).run(false).batchObjects(), "nothing below the eval job's step");

        Checkpoints.record(log, 6, null, "eval");
        Checkpoints.record(log, 10, null, "eval"); // eval keeps 6, 10
        Checkpoints.register(log, "reference", 10);
        st = log.refresh();
        assertEquals(6, st.floorStep());
        assertEquals(List.of("default", "eval", "reference"), List.copyOf(st.consumers().keySet()));
        assertEquals(10, st.latestCheckpoint().step(), "flow control measures from the slowest consumer's newest");
        assertEquals(20 - 10, st.lagSteps());
        assertEquals(6, new GarbageCollector(log, 3_600_000).run(false).batchObjects());

        // each consumer reads its steps, byte-identical to before GC
        for (long from : new long[] {6, 8, 10}) {
            for (Streams.Seen s : Streams.readRank(fs, 1, W, from, 20)) {
                assertEquals(first.get(1).get((int) s.step()).sha256(), s.sha256(), "step " + s.step());
            }
        }
        // a new consumer cannot start where GC reclaimed: a typed error naming the lowest step still readable
        BelowFloorException e = assertThrows(BelowFloorException.class, () -> Checkpoints.register(log, "late", 2));
        assertTrue(e.getMessage().contains("the lowest step still readable is 6"), e.getMessage());
        assertThrows(BelowFloorException.class, () -> RankReader.open(fs, 0, W, 5, ReaderOptions.defaults()));

        // removing the eval job lets the floor rise to the lowest of the others
        assertTrue(Checkpoints.remove(log, "eval").committed());
        assertFalse(Checkpoints.remove(log, "eval").committed(), "removing again is a no-op");
        st = ManifestLog.open(fs).state(); // also replays the removal from the files
        assertEquals(8, st.floorStep());
        assertEquals(List.of("default", "reference"), List.copyOf(st.consumers().keySet()));
        assertEquals(2, new GarbageCollector(ManifestLog.open(fs), 3_600_000).run(false).batchObjects());
    }

    @Test
    void recordsWithoutAConsumerBelongToTheDefaultConsumerAndItsRecordsStayUnnamed() {
        ObjectStore fs = produced(40);
        ManifestLog log = ManifestLog.open(fs);
        long v = Checkpoints.record(log, 4, "ckpt-4").version();
        String json = new String(fs.get(StreamLayout.versionKey(v)), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"checkpoints\":[{\"id\":\"ckpt-4\",\"step\":4,\"timestamp_millis\""), json);
        assertFalse(json.contains("consumer") || json.contains("removed"), "a default record is written as before: " + json);
        long v2 = Checkpoints.record(log, 6, null, "eval").version();
        String named = new String(fs.get(StreamLayout.versionKey(v2)), StandardCharsets.UTF_8);
        assertTrue(named.contains("\"consumer\":\"eval\""), named);
        // a record as written before consumers existed reads as the default consumer's
        CheckpointRecord old = Json.read("{\"step\":3,\"id\":\"x\",\"timestamp_millis\":1}".getBytes(StandardCharsets.UTF_8),
                CheckpointRecord.class, "test");
        assertNull(old.consumer());
        assertEquals(CheckpointRecord.DEFAULT_CONSUMER, old.consumerName());
        assertFalse(old.isRemoval());
        ManifestState st = ManifestLog.open(fs).state();
        assertEquals(4, st.latestCheckpoint(null).step());
        assertEquals(6, st.latestCheckpoint("eval").step());
        assertEquals(4, st.floorStep());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.record(log, 5, null, "eval"));
        assertTrue(e.getMessage().contains("for consumer 'eval'") && e.getMessage().contains("older than the newest"),
                e.getMessage());
    }

    @Test
    void aConsumerRegistersBelowTheFloorUntilGcHasReclaimedThere() {
        ObjectStore fs = produced(80); // 20 steps of 4 records
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        ManifestLog log = ManifestLog.open(fs);
        for (long s : new long[] {4, 8, 12}) {
            Checkpoints.record(log, s, null); // the training run: floor 8, nothing reclaimed yet
        }
        assertEquals(8, log.refresh().floorStep());
        // A reference run from step 0, started after training checkpointed: allowed, and it holds the floor at 0.
        assertTrue(Checkpoints.register(log, "reference", 0).committed());
        ManifestState st = log.refresh();
        assertEquals(0, st.floorStep());
        assertEquals(List.of(0L), steps(st.consumers().get("reference")));
        assertEquals(0, new GarbageCollector(log, 3_600_000).run(false).batchObjects(), "GC keeps what the reference run needs");
        for (Streams.Seen s : Streams.readRank(fs, 0, W, 0, 20)) {
            assertEquals(first.get(0).get((int) s.step()).sha256(), s.sha256(), "step " + s.step());
        }
        // Once it is removed GC reclaims below 8; then a consumer asking for step 3 is refused, naming 3 and 8.
        Checkpoints.remove(log, "reference");
        GcReport r = new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(8, r.batchObjects());
        assertEquals(8, r.floor());
        BelowFloorException e = assertThrows(BelowFloorException.class, () -> Checkpoints.register(log, "late", 3));
        assertEquals(3, e.step());
        assertEquals(8, e.floor(), "the lowest step still readable");
        assertTrue(e.getMessage().contains("cannot register consumer 'late' at step 3")
                && e.getMessage().contains("the lowest step still readable is 8"), e.getMessage());
        assertFalse(log.refresh().consumers().containsKey("late"), "nothing was recorded");
        // Below the floor (12 once training checkpoints 16) but not below what was reclaimed (8): allowed.
        Checkpoints.record(log, 16, null);
        assertEquals(12, log.refresh().floorStep());
        assertTrue(Checkpoints.register(log, "eval", 9).committed());
        assertEquals(9, log.refresh().floorStep());
        assertEquals(1, new GarbageCollector(log, 3_600_000).run(false).batchObjects(), "step 8 only");
        assertEquals(first.get(1).get(9).sha256(), Streams.readRank(fs, 1, W, 9, 10).get(0).sha256());
    }

    @Test
    void aRegistrationThatRacesGcKeepsItsStepBecauseGcCommitsItsMarkBeforeDeleting() {
        ObjectStore fs = produced(80);
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        Checkpoints.record(fs, 8, null);
        Checkpoints.record(fs, 12, null); // floor 8
        HookStore hooked = new HookStore(fs);
        AtomicBoolean registered = new AtomicBoolean();
        // GC has read floor 8 and is about to commit its mark: a reference run registers at step 2 first.
        hooked.putIfAbsentHook = key -> {
            if (StreamLayout.parse(key) instanceof StreamLayout.Version && registered.compareAndSet(false, true)) {
                assertTrue(Checkpoints.register(ManifestLog.open(fs), "reference", 2).committed());
            }
            return false;
        };
        GcReport r = new GarbageCollector(ManifestLog.open(hooked), 3_600_000).run(false);
        assertTrue(registered.get());
        assertEquals(2, r.floor(), "the mark, recomputed on the retry, stops at the new consumer's step");
        assertEquals(2, r.batchObjects());
        ManifestState st = ManifestLog.open(fs).state();
        assertEquals(2, st.reclaimedBelowStep());
        assertEquals(2, st.floorStep());
        for (Streams.Seen s : Streams.readRank(fs, 1, W, 2, 20)) {
            assertEquals(first.get(1).get((int) s.step()).sha256(), s.sha256(), "the reference run reads step " + s.step());
        }
    }

    private static List<Long> steps(List<CheckpointRecord> l) {
        return l.stream().map(CheckpointRecord::step).toList();
    }
}
