package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stream-wide end-of-stream record (docs/format.md §4): who may write it, what it forbids, how it is read back. */
class StreamEndTest {
    static final int W = 2;
    static final int B = 3;

    @TempDir
    Path dir;

    private ObjectStore produced(long records) {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", W, B, new SyntheticSource(records, 5, 0, 1, 4), -1, Streams.opts()).close();
        return fs;
    }

    private static String version(ObjectStore fs, long v) {
        return new String(fs.get(ManifestLog.versionKey(v)), StandardCharsets.UTF_8);
    }

    @Test
    void closingRecordsTheEndInTheLogAndOnlyThere() {
        ObjectStore fs = produced(30); // 5 steps
        ManifestLog log = ManifestLog.open(fs);
        assertFalse(log.state().ended());
        assertEquals(-1, log.state().endStep());
        long before = log.state().version();

        CommitResult r = StreamEnd.close(fs);
        assertTrue(r.committed());
        assertEquals(5, r.state().endStep());
        assertTrue(version(fs, r.version()).contains("\"end_of_stream\":true"), version(fs, r.version()));
        for (long v = 0; v <= before; v++) {
            assertFalse(version(fs, v).contains("end_of_stream"), "versions that do not close the stream do not carry the field");
        }
        ManifestState reopened = ManifestLog.open(fs, true).state();
        assertTrue(reopened.ended());
        assertEquals(5, reopened.endStep());

        CommitResult again = StreamEnd.close(fs);
        assertFalse(again.committed(), "closing is idempotent");
        assertEquals(r.version(), again.version());
        assertEquals(5, again.state().endStep());
    }

    @Test
    void batchesAfterTheEndAreRefusedAndProducersAreTold() {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        TgbProducer p = Streams.produce(fs, "p", W, B, new SyntheticSource(12, 5, 0, 1, 4), -1, Streams.opts()); // 2 steps
        StreamEnd.close(fs);
        p.append(new SyntheticSource(6, 9, 0, 1, 4).globalBatch(new long[] {0, 1, 2, 3, 4, 5}, W), "next=6");
        StreamClosedException e = assertThrows(StreamClosedException.class, p::commit);
        assertEquals(2, e.endStep());
        assertTrue(e.getMessage().contains(fs.describe()) && e.getMessage().contains("ended at step 2")
                && e.getMessage().contains("'p'"), e.getMessage());
        p.close();

        long version = ManifestLog.open(fs).state().version();
        StreamClosedException open = assertThrows(StreamClosedException.class,
                () -> TgbProducer.open(fs, "q", StreamConfig.of(W), Streams.opts()));
        assertTrue(open.getMessage().contains("producer 'q' was not started"), open.getMessage());
        assertEquals(version, ManifestLog.open(fs).state().version(), "a refused producer claims no epoch");
        assertEquals(2, ManifestLog.open(fs).state().committedSteps());

        // the trainer's records still work after the end
        assertTrue(Checkpoints.record(fs, 2, "final").committed());
    }

    @Test
    void theEndSurvivesSnapshotsAndOldStreamsReadAsOpen() {
        ObjectStore fs = produced(18); // 3 steps; Streams.produce snapshots every 8 versions
        StreamEnd.close(fs);
        ManifestLog log = ManifestLog.open(fs);
        for (int i = 0; i < 20; i++) {
            log.commit("c", s -> new Changes(Map.of("c", new ProducerState(1, 0, "x" + s.version())), List.of(), List.of()));
        }
        assertTrue(log.state().lastSnapshotVersion() > 0);
        String snapshot = new String(fs.get(ManifestLog.snapshotKey(log.state().lastSnapshotVersion())), StandardCharsets.UTF_8);
        assertTrue(snapshot.contains("\"ended_at_step\":3"), snapshot);
        assertEquals(3, ManifestLog.open(fs, true).state().endStep(), "read back from the snapshot");

        // a snapshot written before the field existed has no ended_at_step: the stream is open
        Snapshot old = Json.read(snapshot.replace(",\"ended_at_step\":3", "").getBytes(StandardCharsets.UTF_8), Snapshot.class, "old");
        assertEquals(null, old.endedAtStep());
    }

    @Test
    void aLogWithBatchesAfterTheEndIsRejectedNamingTheVersion() {
        ObjectStore fs = produced(12); // 2 steps
        ManifestLog log = ManifestLog.open(fs);
        TgbEntry some = log.entry(1);
        long v = StreamEnd.close(log).version();
        VersionFile bad = new VersionFile(v + 1, "t", "rogue", 0, 2, Map.of(), List.of(some), List.of(), null);
        fs.put(ManifestLog.versionKey(v + 1), Json.write(bad));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs, true));
        assertTrue(e.getMessage().contains(String.format("%020d.json", v + 1)) && e.getMessage().contains("after the stream ended at step 2"),
                e.getMessage());
    }

    @Test
    void batchesWrittenButNotCommittedBeforeTheEndBecomeOrphans() throws Exception {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        // a fixed group of 8: the appended batch waits for its group (no linger commit) until commit()
        TgbProducer p = Streams.produce(fs, "p", W, B, new SyntheticSource(6, 5, 0, 1, 4), -1, Streams.opts().withGroup(8, 8, false));
        p.append(new SyntheticSource(6, 9, 0, 1, 4).globalBatch(new long[] {0, 1, 2, 3, 4, 5}, W), "next=6");
        StreamEnd.close(fs);
        assertThrows(StreamClosedException.class, p::commit);
        p.close();
        // GC ages objects on its log's clock: one second on, the orphan is older than the zero grace
        io.lakestream.testkit.ManualClock clock = new io.lakestream.testkit.ManualClock(System.currentTimeMillis() + 1_000);
        ManifestLog gcLog = ManifestLog.open(fs, io.lakestream.StreamEnv.defaults().withClock(clock));
        // its own epoch could have committed it before the close; after it, nobody can
        assertEquals(1, new GarbageCollector(gcLog, 0).run(false).orphanObjects());
    }

    @Test
    void commitResultPrintsOneLineNotTheManifest() {
        ObjectStore fs = produced(600); // 100 steps
        String s = StreamEnd.close(fs).toString();
        assertTrue(s.startsWith("CommitResult[committed=true") && s.contains("committedSteps=100") && s.contains("endedAtStep=100"), s);
        assertTrue(s.length() < 200, s);
    }
}
