package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.store.FileStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every TGB entry is checked against the producer state it claims (docs/format.md §4): a version
 * that repeats a committed batch, skips or rewinds a sequence, names a stale epoch or an unknown
 * producer is refused naming the version, step and field, both when read and before a commit.
 */
class EntryChainTest {
    @TempDir
    Path dir;

    private static TgbEntry tgb(String producer, long epoch, long seq) {
        return new TgbEntry(producer, epoch, seq, "c" + seq, StreamLayout.batchObjectKey(StreamConfig.of(1), producer, epoch, seq), 10,
                "none", List.of(new ShardEntry(0, 10, 7, 10, 1, 0)));
    }

    /** A stream where p (epoch 2) committed seq 1 and 2 at steps 0 and 1, and q claimed epoch 1. */
    private FileStore stream(String name) {
        FileStore fs = FileStore.open(dir.resolve(name), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(2, 0, null)), List.of(), List.of()));
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(2, 2, "c2")), List.of(tgb("p", 2, 1), tgb("p", 2, 2)), List.of()));
        log.commit("q", s -> new Changes(Map.of("q", new ProducerState(1, 0, null)), List.of(), List.of()));
        return fs;
    }

    /** Puts version 3 (first step 2) behind the log's back and returns the message opening fails with. */
    private static String version3FailsWith(FileStore fs, Map<String, ProducerState> producers, List<TgbEntry> tgbs) {
        VersionFile v3 = new VersionFile(3, "tok", "evil", 0, 2, new TreeMap<>(producers), tgbs, List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(3), Json.write(v3)));
        String m = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs)).getMessage();
        assertTrue(m.contains("_log/00000000000000000003.json"), m);
        return m;
    }

    @Test
    void aRepeatedBatchIsRefusedNamingStepAndSeq() {
        String m = version3FailsWith(stream("dup"), Map.of("p", new ProducerState(2, 2, "c2")), List.of(tgb("p", 2, 2)));
        assertTrue(m.contains("step 2") && m.contains("field 'seq' is 2") && m.contains("the next one is 3"), m);
    }

    @Test
    void aRepeatedBatchWithoutAProducerUpdateIsRefused() {
        String m = version3FailsWith(stream("noupd"), Map.of(), List.of(tgb("p", 2, 1)));
        assertTrue(m.contains("step 2") && m.contains("field 'producers.p' is missing"), m);
    }

    @Test
    void aSkippedSequenceIsRefused() {
        String m = version3FailsWith(stream("gap"), Map.of("p", new ProducerState(2, 5, "c5")), List.of(tgb("p", 2, 5)));
        assertTrue(m.contains("field 'seq' is 5"), m);
    }

    @Test
    void aStaleOrFutureEpochIsRefused() {
        String m = version3FailsWith(stream("stale"), Map.of("p", new ProducerState(2, 3, "c3")), List.of(tgb("p", 1, 3)));
        assertTrue(m.contains("field 'epoch' is 1") && m.contains("at epoch 2"), m);
        // another producer's batch the producer has not committed: q at epoch 1 seq 0 names its own seq 7
        String m2 = version3FailsWith(stream("future"), Map.of("q", new ProducerState(1, 7, "c7")), List.of(tgb("q", 1, 7)));
        assertTrue(m2.contains("field 'seq' is 7") && m2.contains("producer 'q'"), m2);
    }

    @Test
    void anUnknownProducerMustBeIntroducedByTheVersionItself() {
        // r is unknown before version 3: with its own update (a claim and the first batch in one version) it is fine
        FileStore fs = stream("intro");
        VersionFile ok = new VersionFile(3, "tok", "r", 0, 2, new TreeMap<>(Map.of("r", new ProducerState(1, 1, "c1"))),
                List.of(tgb("r", 1, 1)), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(3), Json.write(ok)));
        assertEquals(3, ManifestLog.open(fs).state().committedSteps());
    }

    @Test
    void aProducerStateNeverGoesBackSoASequenceCannotBeReused() {
        // rewinding p to seq 0 would let a later version commit seq 1 (step 0's object) again
        String m = version3FailsWith(stream("rewind"), Map.of("p", new ProducerState(2, 0, null)), List.of());
        assertTrue(m.contains("field 'producers.p' goes back"), m);
    }

    @Test
    void theUpdateMustEndAtTheLastEntry() {
        String m = version3FailsWith(stream("end"), Map.of("p", new ProducerState(2, 9, "c9")), List.of(tgb("p", 2, 3)));
        assertTrue(m.contains("field 'producers.p.seq' is 9") && m.contains("has seq 3"), m);
    }

    @Test
    void aCommitterNeverWritesAVersionThatBreaksAChain() {
        FileStore fs = stream("commit");
        ManifestLog log = ManifestLog.open(fs);
        assertThrows(LogFormatException.class,
                () -> log.commit("p", s -> new Changes(Map.of("p", new ProducerState(2, 2, "c2")), List.of(tgb("p", 2, 2)), List.of())));
        assertFalse(fs.stat(ManifestLog.versionKey(3)).isPresent(), "nothing was written");
    }

    @Test
    void aSnapshotWhoseTailRepeatsABatchIsSkipped() {
        FileStore fs = stream("snap");
        ManifestState good = ManifestLog.open(fs).state();
        Snapshot bad = new Snapshot(StreamConfig.FORMAT_VERSION, 2, 2, good.producers(), 0, List.of(tgb("p", 2, 1), tgb("p", 2, 1)),
                List.of(), 0);
        assertTrue(fs.putIfAbsent(ManifestLog.snapshotKey(2), Json.write(bad)));
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(good.version(), s.version());
        assertTrue(s.lastSnapshotVersion() < 2, "the bad snapshot was not used: " + s.lastSnapshotVersion());
        assertEquals("data/p/00000002-000000000002.tgb", ManifestLog.open(fs).entry(1).object());
    }
}
