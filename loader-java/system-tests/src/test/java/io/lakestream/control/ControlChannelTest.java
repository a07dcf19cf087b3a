package io.lakestream.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.lineage.Lineage;
import io.lakestream.lineage.StepLineage;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ControlChangedException;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Control records in the log and the producer's side of the channel. */
class ControlChannelTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private static StreamConfig config() {
        return StreamConfig.of(W).withSnapshotInterval(4).withIndexSegmentSteps(8);
    }

    private static void append(TgbProducer p, SyntheticSource src, long[] next, Long control) {
        long[] ids = src.take(next[0], 4);
        next[0] = src.after(ids[ids.length - 1]);
        p.append(src.globalBatch(ids, W), SyntheticSource.cursor(next[0]), control);
    }

    @Test
    void aStaleBatchIsRefusedAndTheProducerRewindsUnderANewEpoch() {
        SyntheticSource src = new SyntheticSource(1000, 1, 0, 1, 8);
        try (ObjectStore store = FileStore.open(dir.resolve("s"), true);
             TgbProducer p = TgbProducer.open(store, "p", config(), ProducerOptions.defaults().withGroup(100, 100, false))) {
            assertNull(p.control());
            long[] next = {0};
            for (int i = 0; i < 3; i++) {
                append(p, src, next, 0L);
            }
            p.commit();
            for (int i = 0; i < 2; i++) {
                append(p, src, next, 0L);
            }
            CommitResult set = Controls.set(store, Map.of(Controls.MIXTURE, "a:0.5,b:0.5"), Set.of(), "trainer");
            assertTrue(set.committed());
            ControlChangedException e = assertThrows(ControlChangedException.class, p::commit);
            assertEquals(0, e.generatedUnder());
            assertEquals(1, e.control().version());
            assertEquals(3, e.control().fromStep(), "in force from the steps committed before it");
            assertEquals(0, p.pendingCount(), "the stale batches were dropped");
            assertEquals(3, p.committedSeq());
            assertEquals("next=12", p.committedCursor(), "resume where the log says");
            assertEquals(2, p.epoch(), "a new epoch: the dropped batches' keys are never reused");
            assertEquals(1, p.control().version());
            next[0] = SyntheticSource.parseCursor(p.committedCursor());
            for (int i = 0; i < 2; i++) {
                append(p, src, next, 1L);
            }
            p.commit();
            ManifestState s = ManifestLog.open(store, true).state();
            assertEquals(5, s.committedSteps());
            for (long step = 0; step < 5; step++) {
                StepLineage l = Lineage.blame(store, step);
                assertEquals(step < 3 ? 0 : 1, l.control(), "control in force at step " + step);
                assertEquals(step < 3 ? 0L : 1L, l.controlApplied());
                assertEquals(step < 3 ? Map.of() : Map.of(Controls.MIXTURE, "a:0.5,b:0.5"), l.controlSettings());
            }
            // Every record exactly once across the change.
            Streams.assertExactlyOnce(Streams.readAll(store, W), Streams.range(20));
        }
    }

    @Test
    void producersThatDoNotFollowControlsAreNotDisturbed() {
        SyntheticSource src = new SyntheticSource(1000, 1, 0, 1, 8);
        try (ObjectStore store = FileStore.open(dir.resolve("s"), true);
             TgbProducer p = TgbProducer.open(store, "p", config(), ProducerOptions.defaults().withGroup(100, 100, false))) {
            long[] next = {0};
            append(p, src, next, null);
            Controls.set(store, Map.of("x.curriculum", "stage-2"), Set.of(), null);
            append(p, src, next, null);
            p.commit();
            assertEquals(2, p.committedSeq());
            assertEquals(1, p.epoch());
            assertNull(Lineage.blame(store, 1).controlApplied());
            assertEquals(1, Lineage.blame(store, 1).control(), "the record still governs the step in the log");
            assertThrows(IllegalArgumentException.class, () -> {
                append(p, src, next, 7L);
                p.commit();
            }, "a version from the future is a bug, not a change");
        }
    }

    @Test
    void controlRecordsMergeValidateAreIdempotentAndSurviveSnapshots() {
        try (ObjectStore store = FileStore.open(dir.resolve("s"), true)) {
            ManifestLog.openOrCreate(store, config());
            SyntheticSource src = new SyntheticSource(10_000, 1, 0, 1, 8);
            assertThrows(IllegalArgumentException.class, () -> Controls.set(store, Map.of(Controls.MIXTURE, "a:x"), Set.of(), null));
            assertThrows(IllegalArgumentException.class, () -> Controls.set(store, Map.of("bad key", "1"), Set.of(), null));
            Controls.set(store, Map.of(Controls.MIXTURE, "a:1", "x.stage", "1"), Set.of(), null);
            assertFalse(Controls.set(store, Map.of("x.stage", "1"), Set.of(), null).committed(), "nothing changes: nothing committed");
            try (TgbProducer p = TgbProducer.open(store, "p", config(), Streams.opts())) {
                Streams.produceWith(p, W, 2, src, 30); // many versions: snapshots and index segments
            }
            Controls.set(store, Map.of(), Set.of("x.stage"), null);
            ManifestState s = ManifestLog.open(store, true).state();
            assertTrue(s.lastSnapshotVersion() > 0, "reopened from a snapshot");
            assertEquals(List.of(1L, 2L), s.controls().stream().map(ControlRecord::version).toList());
            assertEquals(Map.of(Controls.MIXTURE, "a:1"), s.control().settings(), "stage was unset, the rest kept");
            assertEquals(0, s.controls().get(0).fromStep());
            assertEquals(30, s.controls().get(1).fromStep());
            assertEquals(1, s.controlAt(29).version());
            assertEquals(2, s.controlAt(30).version());
            assertEquals(2, Controls.current(store).version());
        }
    }

    @Test
    void versionsWithoutControlsKeepTheirOldBytes() {
        io.lakestream.log.VersionFile v = new io.lakestream.log.VersionFile(1, "t", "x", 0, 0, Map.of(), List.of(), List.of(), null);
        String json = new String(Json.write(v), StandardCharsets.UTF_8);
        assertFalse(json.contains("controls"), json);
        assertThrows(IllegalArgumentException.class, () -> new io.lakestream.log.Changes(Map.of(),
                List.of(new io.lakestream.log.TgbEntry("p", 1, 1, null, "o", 1, "none", List.of())), List.of(), null, false,
                List.of(new ControlRecord(1, 0, Map.of(), null, 0))), "a control record never shares a version with TGBs");
    }
}
