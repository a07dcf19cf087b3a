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

/** Manifest entries are data from the store: a corrupt one fails with a message naming it, before any buffer is sized. */
class ManifestValidationTest {
    @TempDir
    Path dir;

    private static TgbEntry tgb(String codec, long objectSize, ShardEntry... shards) {
        return new TgbEntry("p", 1, 1, "c1", "data/p/00000001-000000000001.tgb", objectSize, codec, List.of(shards));
    }

    private static ShardEntry shard(long offset, long length, long raw, long samples, long first) {
        return new ShardEntry(offset, length, 7, raw, samples, first);
    }

    /** Writes version 1 holding {@code t} behind the log's back (as a corrupt or hostile writer would). */
    private String openFailsWith(TgbEntry t) {
        FileStore fs = FileStore.open(dir.resolve("s" + System.nanoTime()), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(2));
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(1, 0, null)), List.of(), List.of()));
        VersionFile v1 = new VersionFile(1, "tok", "p", 0, 0, new TreeMap<>(Map.of("p", new ProducerState(1, 1, "c1"))),
                List.of(t), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), Json.write(v1)));
        return assertThrows(LogFormatException.class, () -> ManifestLog.open(fs)).getMessage();
    }

    @Test
    void shardOutsideTheObjectIsRejectedBeforeAnyReadSizesABuffer() {
        String m = openFailsWith(tgb("none", 100, shard(0, 50, 50, 1, 0), shard(50, 1L << 40, 1L << 40, 1, 1)));
        assertTrue(m.contains("_log/00000000000000000001.json") && m.contains("rank 1") && m.contains("not inside the 100-byte object"), m);
    }

    @Test
    void impossibleRawLengthsOverlapsAndSampleGapsAreRejected() {
        assertTrue(openFailsWith(tgb("lz4", 100, shard(0, 10, 1L << 40, 1, 0), shard(10, 10, 10, 1, 1))).contains("raw_length"));
        assertTrue(openFailsWith(tgb("none", 100, shard(0, 10, 20, 1, 0), shard(10, 10, 10, 1, 1))).contains("raw_length"));
        assertTrue(openFailsWith(tgb("none", 100, shard(0, 20, 20, 1, 0), shard(10, 10, 10, 1, 1))).contains("share bytes"));
        assertTrue(openFailsWith(tgb("none", 100, shard(0, 10, 10, 1, 0), shard(10, 10, 10, 1, 5))).contains("do not follow"));
        assertTrue(openFailsWith(tgb("zstd", 100, shard(0, 10, 10, 1, 0), shard(10, 10, 10, 1, 1))).contains("unknown codec 'zstd'"));
        assertTrue(openFailsWith(tgb("none", 100, shard(0, 10, 10, 1, 0))).contains("1 shards, world size is 2"));
    }

    @Test
    void aCommitterNeverWritesAVersionThatFailsValidation() {
        FileStore fs = FileStore.open(dir.resolve("c"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(2));
        TgbEntry bad = tgb("none", 10, shard(0, 50, 50, 1, 0), shard(50, 5, 5, 1, 1));
        assertThrows(LogFormatException.class,
                () -> log.commit("p", s -> new Changes(Map.of("p", new ProducerState(1, 1, null)), List.of(bad), List.of())));
        assertFalse(fs.stat(ManifestLog.versionKey(0)).isPresent(), "nothing was written");
        assertEquals(-1, ManifestLog.open(fs).state().version());
    }

    @Test
    void aSnapshotWithAnInconsistentTailOrNewerFormatIsSkippedNotTrusted() {
        FileStore fs = FileStore.open(dir.resolve("snap"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(100));
        for (int i = 0; i < 5; i++) {
            final long seq = i;
            log.commit("p", s -> new Changes(Map.of("p", new ProducerState(1, seq, "c" + seq)), List.of(), List.of()));
        }
        ManifestState good = ManifestLog.open(fs).state();
        // A snapshot at version 3 that claims 3 committed steps with an empty tail, then one at 5 of a newer format.
        assertTrue(fs.putIfAbsent(ManifestLog.snapshotKey(3), Json.write(new Snapshot(StreamConfig.FORMAT_VERSION, 3, 3, Map.of(), 0, List.of(), List.of(), 0))));
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(good.version(), s.version());
        assertEquals(0, s.committedSteps(), "the inconsistent snapshot was not used");
        log.commit("p", st -> new Changes(Map.of("p", new ProducerState(1, 9, "c9")), List.of(), List.of()));
        assertTrue(fs.putIfAbsent(ManifestLog.snapshotKey(5), Json.write(new Snapshot(StreamConfig.FORMAT_VERSION + 1, 5, 0, Map.of(), 0, List.of(), List.of(), 0))));
        assertEquals("c9", ManifestLog.open(fs).state().producer("p").cursor(), "a newer-format snapshot is not used either");
    }
}
