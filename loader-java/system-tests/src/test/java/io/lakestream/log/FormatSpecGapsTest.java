package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.BatchObject;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorData;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One test per gap the independent reader of docs/format.md found (issue 22): each pins what the
 * spec now says, so the implementation and the spec cannot drift apart again.
 */
class FormatSpecGapsTest {
    @TempDir
    Path dir;

    static final SyntheticSource SRC = new SyntheticSource(100_000, 1, 0, 1, 4);

    /** A stream of world size 1 where producer p claimed epoch 1 at version 0. */
    private FileStore claimed(String name) {
        FileStore fs = FileStore.open(dir.resolve(name), true);
        ManifestLog.openOrCreate(fs, StreamConfig.of(1))
                .commit("p", s -> new Changes(Map.of("p", new ProducerState(1, 0, null)), List.of(), List.of()));
        return fs;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static FileStore produced(Path root, StreamConfig cfg, int steps, int samplesPerStep) {
        FileStore fs = FileStore.open(root, true);
        try (TgbProducer p = TgbProducer.open(fs, "p", cfg, ProducerOptions.defaults().withGroup(1, 1, false).withWriteParallelism(0))) {
            for (int i = 0; i < steps; i++) {
                long start = (long) i * samplesPerStep;
                List<Map<String, TensorData>> b = SRC.globalBatch(SRC.take(start, samplesPerStep), cfg.worldSize());
                p.append(b, "next=" + (start + samplesPerStep));
            }
        }
        return fs;
    }

    // gap 1: required fields of versions, checkpoint and control records
    @Test
    void gap1_onlyTheListedFieldsAreRequired() {
        FileStore fs = claimed("g1");
        // no committer, no timestamp_millis; a checkpoint with only its step; a control without id or timestamp
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), utf8("{\"version\":1,\"commit_token\":\"t\",\"first_step\":0,"
                + "\"checkpoints\":[{\"step\":0}],\"controls\":[{\"version\":1,\"from_step\":0,\"settings\":{}}]}")));
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(0, s.checkpoints().get(0).timestampMillis());
        assertEquals(1, s.controlVersion());
        // required ones missing: each refused, naming the file and the field
        String[][] bad = {
                {"{\"version\":2,\"first_step\":0}", "commit_token"},
                {"{\"version\":2,\"commit_token\":\"t\"}", "first_step"},
                {"{\"version\":2,\"commit_token\":\"t\",\"first_step\":0,\"checkpoints\":[{\"id\":\"x\"}]}", "step"},
                {"{\"version\":2,\"commit_token\":\"t\",\"first_step\":0,\"controls\":[{\"version\":2,\"from_step\":0}]}", "settings"},
        };
        for (String[] b : bad) {
            fs.put(ManifestLog.versionKey(2), utf8(b[0]));
            FormatException e = assertThrows(FormatException.class, () -> ManifestLog.open(fs), b[0]);
            assertTrue(e.getMessage().contains("00000000000000000002.json") && e.getMessage().contains(b[1]), e.getMessage());
        }
    }

    // gap 2: null is absent for every optional field, and writers do not write null for reclaimed_below_step
    @Test
    void gap2_nullIsAbsentAndNotWritten() {
        FileStore fs = claimed("g2");
        assertFalse(new String(fs.get(ManifestLog.versionKey(0)), StandardCharsets.UTF_8).contains("reclaimed_below_step"),
                "a version that does not move the mark does not mention it");
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), utf8("{\"version\":1,\"commit_token\":\"t\",\"first_step\":0,"
                + "\"committer\":null,\"timestamp_millis\":null,\"producers\":null,\"tgbs\":null,\"checkpoints\":null,"
                + "\"controls\":null,\"reclaimed_below_step\":null,\"end_of_stream\":null}")));
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(1, s.version());
        assertEquals(0, s.committedSteps());
        assertEquals(0, s.reclaimedBelowStep());
        assertFalse(s.ended());
        assertEquals(1, s.producer("p").epoch(), "null producers changed nothing");
    }

    // gap 3: a snapshot missing a required field is skipped, never used with floor 0
    @Test
    void gap3_aSnapshotWithoutCheckpointsIsSkippedNotReadAsFloorZero() {
        Path root = dir.resolve("g3");
        FileStore fs = produced(root, StreamConfig.of(1).withSnapshotInterval(1000).withRetention(1, 0), 6, 2);
        Checkpoints.record(ManifestLog.open(fs), 4, "ck4");
        ManifestState truth = ManifestLog.open(fs).state();
        assertEquals(4, truth.floorStep());
        byte[] good = Json.write(truth.toSnapshot());
        for (String field : List.of("checkpoints", "producers", "tail")) {
            for (boolean asNull : new boolean[] {false, true}) {
                com.fasterxml.jackson.databind.node.ObjectNode n = (com.fasterxml.jackson.databind.node.ObjectNode) readTree(good);
                if (asNull) {
                    n.putNull(field);
                } else {
                    n.remove(field);
                }
                fs.put(ManifestLog.snapshotKey(truth.version()), utf8(n.toString()));
                ManifestState s = ManifestLog.open(fs).state();
                assertEquals(4, s.floorStep(), "snapshot with " + field + (asNull ? " null" : " missing") + " was used");
                assertTrue(s.lastSnapshotVersion() < truth.version(), field);
            }
        }
        fs.put(ManifestLog.snapshotKey(truth.version()), good);
        assertEquals(truth.version(), ManifestLog.open(fs).state().lastSnapshotVersion(), "the intact snapshot is used");
    }

    private static com.fasterxml.jackson.databind.JsonNode readTree(byte[] b) {
        try {
            return Json.MAPPER.readTree(b);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    // gap 4: a version-1 config carrying a version-2 field is refused, whatever its value
    @Test
    void gap4_aVersion1ConfigWithIndexSegmentBytesZeroIsRefused() {
        FileStore fs = FileStore.open(dir.resolve("g4"), true);
        fs.put(StreamConfig.KEY, utf8("{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":1,\"index_segment_bytes\":0}"));
        FormatException e = assertThrows(FormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("index_segment_bytes"), e.getMessage());
        fs.put(StreamConfig.KEY, utf8("{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":1}"));
        assertEquals(1, ManifestLog.open(fs).config().formatVersion());
    }

    // gap 5: base64 in a shard table must be padded
    @Test
    void gap5_unpaddedBase64IsRefused() {
        FileStore fs = produced(dir.resolve("g5"), StreamConfig.of(1), 1, 2);
        String v1 = new String(fs.get(ManifestLog.versionKey(1)), StandardCharsets.UTF_8);
        assertTrue(v1.contains("==\""), "world size 1: 4 CRC bytes, base64 with two '=': " + v1);
        fs.put(ManifestLog.versionKey(1), utf8(v1.replace("==\"", "\"")));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("base64"), e.getMessage());
    }

    // gap 6: control settings are strings only
    @Test
    void gap6_aNonStringSettingIsRefused() {
        FileStore fs = claimed("g6");
        for (String v : List.of("1", "true", "null", "{}")) {
            fs.put(ManifestLog.versionKey(1), utf8("{\"version\":1,\"commit_token\":\"t\",\"first_step\":0,"
                    + "\"controls\":[{\"version\":1,\"from_step\":0,\"settings\":{\"mixture\":" + v + "}}]}"));
            FormatException e = assertThrows(FormatException.class, () -> ManifestLog.open(fs), v);
            assertTrue(e.getMessage().contains("settings"), e.getMessage());
        }
        fs.put(ManifestLog.versionKey(1), utf8("{\"version\":1,\"commit_token\":\"t\",\"first_step\":0,"
                + "\"controls\":[{\"version\":1,\"from_step\":0,\"settings\":{\"mixture\":\"web:1\"}}]}"));
        assertEquals("web:1", ManifestLog.open(fs).state().control().settings().get("mixture"));
    }

    private static byte[] bytes(java.lang.foreign.MemorySegment m) {
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    // gap 7: the digest of an elastic read, and of an empty range
    @Test
    void gap7_anElasticDigestIsOverTheDeliveredTensorsInDataOrder() throws Exception {
        FileStore fs = produced(dir.resolve("g7"), StreamConfig.of(2), 1, 2); // one step, shards of 1 sample each
        byte[][] shardTensors = new byte[2][];
        List<List<byte[]>> perTensor = new ArrayList<>();
        List<String> dataOrder = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            try (RankReader rr = RankReader.open(fs, r, 2, 0, ReaderOptions.defaults()); StepBatch b = rr.next(20_000)) {
                shardTensors[r] = bytes(b.tensorBytes());
                List<Tensor> inDataOrder = new ArrayList<>(b.tensors());
                inDataOrder.sort(Comparator.comparingLong(t -> t.data().address()));
                if (r == 0) {
                    inDataOrder.forEach(t -> dataOrder.add(t.name()));
                }
                for (int t = 0; t < inDataOrder.size(); t++) {
                    if (perTensor.size() <= t) {
                        perTensor.add(new ArrayList<>());
                    }
                    perTensor.get(t).add(bytes(inDataOrder.get(t).data()));
                }
            }
        }
        // W' = 1: per tensor in data order, the rows of shard 0 then shard 1
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (List<byte[]> t : perTensor) {
            for (byte[] rows : t) {
                expected.write(rows);
            }
        }
        try (RankReader e = RankReader.openElastic(fs, 0, 1, 0, ReaderOptions.defaults()); StepBatch b = e.next(20_000)) {
            assertArrayEquals(expected.toByteArray(), bytes(b.tensorBytes()));
            assertFalse(java.util.Arrays.equals(expected.toByteArray(), concat(shardTensors[0], shardTensors[1])),
                    "regrouped, not the stored data sections back to back");
        }
        // W' = 3 over 2 samples: rank 2 gets none, its digest is SHA-256 of no bytes and its tensors have 0 rows
        try (RankReader e = RankReader.openElastic(fs, 2, 3, 0, ReaderOptions.defaults()); StepBatch b = e.next(20_000)) {
            assertEquals(0, b.samples());
            assertEquals(0, b.tensorBytes().byteSize());
            assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(b.tensorBytes()))));
            assertEquals(dataOrder, b.tensors().stream().map(Tensor::name).toList(),
                    "an empty range delivers the tensors in data order");
            assertTrue(b.tensors().stream().allMatch(t -> t.shape()[0] == 0));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    // gap 8: whole shards that are not adjacent in the object are read one by one, not as one range
    @Test
    void gap8_wholeShardsOutOfObjectOrderAreReadOneByOne() {
        FileStore fs = produced(dir.resolve("g8"), StreamConfig.of(2), 1, 4);
        ManifestLog log = ManifestLog.open(fs);
        TgbEntry e = log.entry(0);
        List<byte[]> truth = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            try (RankReader rr = RankReader.open(fs, r, 2, 0, ReaderOptions.defaults()); StepBatch b = rr.next(20_000)) {
                truth.add(bytes(b.tensor("record_id").data()));
            }
        }
        // the same shards stored in the other order: shard 1 first, then shard 0 (a per-shard list says so)
        byte[] obj = fs.get(e.object());
        ShardEntry s0 = e.shards().get(0);
        ShardEntry s1 = e.shards().get(1);
        byte[] swapped = new byte[(int) (s0.length() + s1.length())];
        System.arraycopy(obj, (int) s1.offset(), swapped, 0, (int) s1.length());
        System.arraycopy(obj, (int) s0.offset(), swapped, (int) s1.length(), (int) s0.length());
        String key = StreamLayout.batchObjectKey(log.config(), "p", e.epoch(), 2);
        assertTrue(fs.putIfAbsent(key, swapped));
        List<ShardEntry> shards = List.of(
                new ShardEntry(s1.length(), s0.length(), s0.crc32c(), s0.rawLength(), s0.samples(), s0.firstSample(), s0.headerLength(), s0.headerCrc32c()),
                new ShardEntry(0, s1.length(), s1.crc32c(), s1.rawLength(), s1.samples(), s1.firstSample(), s1.headerLength(), s1.headerCrc32c()));
        TgbEntry moved = new TgbEntry("p", e.epoch(), 2, "n", key, swapped.length, e.codec(), shards);
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(e.epoch(), 2, "n")), List.of(moved), List.of()));
        try (RankReader r = RankReader.openElastic(fs, 0, 1, 1, ReaderOptions.defaults()); StepBatch b = r.next(20_000)) {
            assertArrayEquals(concat(truth.get(0), truth.get(1)), bytes(b.tensor("record_id").data()));
        }
    }

    // gap 9: the footer does not change with the stream's format version
    @Test
    void gap9_theFooterOfAVersion2ObjectSaysFormatVersion1WithAPerShardList() {
        FileStore fs = produced(dir.resolve("g9"), StreamConfig.of(2), 1, 4);
        TgbEntry e = ManifestLog.open(fs).entry(0);
        assertEquals(2, ManifestLog.open(fs).config().formatVersion());
        BatchObject.Footer f = BatchObject.readFooter(fs.get(e.object()), e.object());
        assertEquals(1, f.formatVersion());
        assertEquals(2, f.shards().size());
        assertEquals(e.shards().get(1).offset(), f.shards().get(1).offset());
        assertTrue(new String(fs.get(e.object()), StandardCharsets.ISO_8859_1).contains("\"shards\":["), "a per-shard list");
    }

    // gap 11: an unknown codec is a malformed entry, not skipped
    @Test
    void gap11_anUnknownCodecIsRefused() {
        FileStore fs = claimed("g11");
        TgbEntry z = new TgbEntry("p", 1, 1, null, "data/p/00000001-000000000001.tgb", 10, "zstd", List.of(new ShardEntry(0, 10, 7, 10, 1, 0)));
        VersionFile v1 = new VersionFile(1, "t", "p", 0, 0, new TreeMap<>(Map.of("p", new ProducerState(1, 1, null))), List.of(z), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), Json.write(v1)));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("zstd") && e.getMessage().contains("00000000000000000001.json"), e.getMessage());
    }
}
