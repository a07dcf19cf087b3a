package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.format.Json;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestLogTest {
    @TempDir
    Path dir;

    private ObjectStore store() {
        return FileStore.open(dir.resolve("s"), true);
    }

    private static CommitResult claim(ManifestLog log, String id) {
        return log.commit(id, s -> new Changes(Map.of(id, new ProducerState(1, 0, null)), List.of(), List.of()));
    }

    @Test
    void openingALongStreamReadsTheSnapshotAndAFewVersionsNotTheHistory() {
        ObjectStore fs = store();
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(16));
        for (int i = 0; i < 400; i++) {
            final long v = i;
            log.commit("c", s -> new Changes(Map.of("c", new ProducerState(1, v, "x" + v)), List.of(), List.of()));
        }
        assertEquals(399, log.state().version());
        CountingStore counting = new CountingStore(fs);
        ManifestLog reopened = ManifestLog.open(counting);
        assertEquals(399, reopened.state().version());
        assertEquals("x399", reopened.state().producer("c").cursor());
        assertTrue(reopened.state().lastSnapshotVersion() >= 384, "a recent snapshot was used: " + reopened.state().lastSnapshotVersion());
        // config + hint + snapshot + at most the versions since it + the probe for the next one
        assertTrue(counting.gets.get() <= 3 + 16 + 1, "open read " + counting.gets.get() + " objects");
    }

    @Test
    void aFollowerListsForReclaimedVersionsOnlyAfterHalfTheLogGraceOfItsOwnMonotonicTime() {
        ObjectStore fs = store();
        ManualClock clock = new ManualClock(1_000_000_000L);
        StreamEnv env = StreamEnv.defaults().withClock(clock);
        // the writer's wall clock runs an hour fast: the follower must not care what it stamps
        ManualClock fast = new ManualClock(1_000_000_000L + 3_600_000);
        ManifestLog writer = ManifestLog.openOrCreate(fs, StreamConfig.of(1), StreamEnv.defaults().withClock(fast));
        claim(writer, "a"); // version 0
        CountingStore counting = new CountingStore(fs);
        ManifestLog follower = ManifestLog.open(counting, true, env);
        long grace = follower.config().logGraceMs();
        counting.reset();
        follower.refresh();
        assertEquals(0, counting.lists.get(), "opening confirmed the head: the next version's absence is proof");
        clock.advance(grace / 2 - 1);
        follower.refresh();
        assertEquals(0, counting.lists.get(), "each absent GET within half the grace confirms the head again");
        clock.advance(grace / 2 - 1);
        follower.refresh();
        assertEquals(0, counting.lists.get());
        clock.advance(grace / 2 + 1); // paused longer than half the grace: a version could have come and gone
        follower.refresh();
        assertEquals(1, counting.lists.get(), "one LIST past our version settles it");
        follower.refresh();
        assertEquals(1, counting.lists.get(), "and confirms the head again");
        claim(writer, "b");
        follower.refresh();
        assertEquals(1, counting.lists.get());
        assertEquals(1, follower.state().version());
    }

    @Test
    void stepIndexSurvivesSnapshotsAndSegmentsAcrossReopen() {
        ObjectStore fs = store();
        SyntheticSource src = new SyntheticSource(200, 1, 0, 1, 4);
        try (TgbProducer p = Streams.produce(fs, "p", 2, 1, src, -1, Streams.opts())) {
            assertEquals(100, p.log().state().committedSteps());
        }
        ManifestLog log = ManifestLog.open(fs);
        assertTrue(log.state().indexedSteps() > 0, "snapshots wrote index segments");
        for (long s = 0; s < 100; s++) {
            TgbEntry e = log.entry(s);
            assertEquals(s + 1, e.seq(), "step " + s + " maps to the batch of seq " + (s + 1));
        }
    }

    @Test
    void concurrentCommittersGetDistinctVersionsAndNothingIsLost() throws Exception {
        ObjectStore fs = store();
        ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        int threads = 4;
        int each = 40;
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            final String id = "c" + t;
            ts[t] = new Thread(() -> {
                ManifestLog log = ManifestLog.open(fs);
                for (int i = 1; i <= each; i++) {
                    final long seq = i;
                    log.commit(id, s -> {
                        ProducerState cur = s.producer(id);
                        assertEquals(seq - 1, cur == null ? 0 : cur.seq(), "each committer sees its own previous commit");
                        return new Changes(Map.of(id, new ProducerState(1, seq, null)), List.of(), List.of());
                    });
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(threads * each - 1, s.version());
        for (int t = 0; t < threads; t++) {
            assertEquals(each, s.producer("c" + t).seq());
        }
    }

    @Test
    void malformedVersionFileIsAClearErrorAndIsNeverOverwritten() {
        ObjectStore fs = store();
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        claim(log, "a");
        byte[] junk = "{\"version\": 1, \"first_st".getBytes(StandardCharsets.UTF_8);
        fs.put(StreamLayout.versionKey(1), junk);
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("_log/00000000000000000001.json"), e.getMessage());
        assertThrows(LogFormatException.class, () -> claim(log, "b"));
        assertEquals(new String(junk, StandardCharsets.UTF_8), new String(fs.get(StreamLayout.versionKey(1)), StandardCharsets.UTF_8),
                "the bad file is left for a human, not overwritten");
    }

    @Test
    void versionWithWrongContentsIsRejectedNamingTheFile() {
        ObjectStore fs = store();
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        claim(log, "a");
        VersionFile wrongStep = new VersionFile(1, "t", "x", 0, 7, Map.of(), List.of(), List.of(), null);
        fs.put(StreamLayout.versionKey(1), Json.write(wrongStep));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("first_step is 7"), e.getMessage());
        assertTrue(e.getMessage().contains("00000000000000000001.json"), e.getMessage());
    }

    @Test
    void aMissingVersionInTheMiddleIsReportedAsAGap() {
        ObjectStore fs = store();
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(1000));
        for (int i = 0; i < 5; i++) {
            claim(log, "p" + i);
        }
        fs.delete(StreamLayout.versionKey(2));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("version 2 is missing"), e.getMessage());
    }

    @Test
    void corruptSnapshotFallsBackToTheVersionsItSummarises() {
        ObjectStore fs = store();
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(4));
        for (int i = 0; i < 10; i++) {
            claim(log, "p" + i);
        }
        fs.put(StreamLayout.snapshotKey(8), "not json".getBytes(StandardCharsets.UTF_8));
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(9, s.version());
        assertEquals(10, s.producers().size());
    }

    @Test
    void truncatedAndMalformedConfigAreClearErrors() {
        ObjectStore fs = store();
        fs.put(StreamConfig.KEY, "{\"format\":\"lakestream\",\"format_vers".getBytes(StandardCharsets.UTF_8));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("_lakestream.json"), e.getMessage());
        fs.put(StreamConfig.KEY, "{\"format\":\"lakestream\",\"format_version\":1}".getBytes(StandardCharsets.UTF_8));
        e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("field '"), "names the missing field: " + e.getMessage());
        fs.put(StreamConfig.KEY, "{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":0,\"snapshot_interval\":1,\"keep_checkpoints\":1,\"max_lag_steps\":0,\"created_at_millis\":0,\"index_segment_steps\":16}"
                .getBytes(StandardCharsets.UTF_8));
        e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("world_size 0"), e.getMessage());
    }

    @Test
    void aConfigWrittenBeforeTheStreamWideSettingsReadsWithTheDocumentedDefaults() {
        ObjectStore fs = store();
        // the config of an early stream: no index_segment_steps, no log or orphan grace
        fs.put(StreamConfig.KEY, ("{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":2,\"snapshot_interval\":8,"
                + "\"keep_checkpoints\":3,\"max_lag_steps\":5,\"created_at_millis\":1764028800000}").getBytes(StandardCharsets.UTF_8));
        StreamConfig c = ManifestLog.open(fs).config();
        assertEquals(2, c.worldSize());
        assertEquals(8, c.snapshotInterval());
        assertEquals(3, c.keepCheckpoints());
        assertEquals(5, c.maxLagSteps());
        assertEquals(1024, c.indexSegmentSteps());
        assertEquals(600_000, c.logGraceMs());
        assertEquals(3_600_000, c.orphanGraceMs());
        // the bare minimum
        fs.put(StreamConfig.KEY, "{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":1}".getBytes(StandardCharsets.UTF_8));
        c = ManifestLog.open(fs).config();
        assertEquals(StreamConfig.DEFAULT_SNAPSHOT_INTERVAL, c.snapshotInterval());
        assertEquals(StreamConfig.DEFAULT_KEEP_CHECKPOINTS, c.keepCheckpoints());
        assertEquals(0, c.maxLagSteps());
    }

    @Test
    void streamWideSettingsRoundTripThroughTheStoreAndBadOnesAreRefused() {
        ObjectStore fs = store();
        StreamConfig mine = StreamConfig.of(2).withLogGraceMs(4_321).withOrphanGraceMs(1_234).withIndexSegmentSteps(32)
                .withRetention(4, 9).withSnapshotInterval(16);
        ManifestLog.openOrCreate(fs, mine);
        assertEquals(mine, ManifestLog.open(fs).config(), "every process reads the same settings from the store");
        String json = new String(fs.get(StreamConfig.KEY), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"log_grace_ms\":4321") && json.contains("\"orphan_grace_ms\":1234"), json);
        // a later process asking for other settings gets the stream's (only the world size must match)
        assertEquals(4_321, ManifestLog.openOrCreate(fs, StreamConfig.of(2)).config().logGraceMs());
        fs.put(StreamConfig.KEY, json.replace("\"log_grace_ms\":4321", "\"log_grace_ms\":0").getBytes(StandardCharsets.UTF_8));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("log_grace_ms 0"), e.getMessage());
    }

    @Test
    void missingStreamAndWrongWorldSizeAreClearErrors() {
        ObjectStore fs = store();
        StreamNotFoundException e = assertThrows(StreamNotFoundException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("no Lakestream stream"), e.getMessage());
        assertEquals(fs.describe(), e.stream());
        ManifestLog.openOrCreate(fs, StreamConfig.of(4));
        WorldSizeMismatchException w = assertThrows(WorldSizeMismatchException.class,
                () -> ManifestLog.openOrCreate(fs, StreamConfig.of(8)));
        assertTrue(w.getMessage().contains("world size 4") && w.getMessage().contains("8"), w.getMessage());
        assertThrows(WorldSizeMismatchException.class, () -> ManifestLog.open(fs, 2, true));
    }

    @Test
    void theOpenerTakesEveryOptionTheOverloadsDo() {
        ObjectStore fs = store();
        ManualClock clock = new ManualClock(1_000_000_000L);
        StreamEnv env = StreamEnv.defaults().withClock(clock);
        assertThrows(IllegalArgumentException.class, () -> ManifestLog.opener(fs).worldSize(2).openOrCreate(StreamConfig.of(4)),
                "a world size that contradicts the template");
        ManifestLog created = ManifestLog.opener(fs).env(env).worldSize(4).openOrCreate(StreamConfig.of(4));
        assertTrue(created.env() == env, "the given environment is the log's");
        claim(created, "a");
        ManifestLog reader = ManifestLog.opener(fs).readOnly(true).worldSize(4).open();
        assertEquals(0, reader.state().version());
        assertThrows(IllegalStateException.class, () -> claim(reader, "b"), "a read-only log never commits");
        assertThrows(WorldSizeMismatchException.class, () -> ManifestLog.opener(fs).worldSize(8).open());
        assertThrows(WorldSizeMismatchException.class, () -> ManifestLog.opener(fs).openOrCreate(StreamConfig.of(8)));
    }
}
