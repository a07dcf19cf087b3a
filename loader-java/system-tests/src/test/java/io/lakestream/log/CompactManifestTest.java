package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.format.BatchObject;
import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Json;
import io.lakestream.format.ShardTable;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.Streams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format version 2 (docs/format.md §4.2, §6): compact shard tables that every reader verifies
 * rank by rank, index segments bounded in bytes and found from the snapshot without listing, and
 * version-1 streams that keep their form for older readers.
 */
class CompactManifestTest {
    @TempDir
    Path dir;

    private static final int W = 4;

    private ObjectStore produce(String name, StreamConfig config, long records) {
        ObjectStore store = FileStore.open(dir.resolve(name), true);
        try (TgbProducer p = TgbProducer.open(store, "p0", config, ProducerOptions.defaults().withGroup(3, 3, false))) {
            Streams.produceWith(p, W, 2, new SyntheticSource(records, 5, 0, 1, 32), -1);
        }
        return store;
    }

    private static String snapshotWithInlineEntries(ObjectStore store) {
        String snap = null;
        for (var o : store.list(StreamLayout.LOG_PREFIX, null, 1000)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Snapshot && text(store, o.key()).contains("\"tail\":[{")) {
                snap = o.key();
            }
        }
        assertTrue(snap != null, "a snapshot with inline entries in " + store.describe());
        return snap;
    }

    private static String text(ObjectStore store, String key) {
        return new String(store.get(key), StandardCharsets.UTF_8);
    }

    @Test
    void newStreamsWriteShardTablesAndReadTheSameBytesAsVersion1Streams() {
        StreamConfig cfg = Streams.config(W);
        ObjectStore v2 = produce("v2", cfg, 800);
        ObjectStore v1 = produce("v1", cfg.asVersion1(), 800);

        String config2 = text(v2, StreamConfig.KEY);
        assertTrue(config2.contains("\"format_version\":2") && config2.contains("\"index_segment_bytes\":1048576")
                && config2.contains("\"data_layout\":\"producer\""), config2);
        String version2 = text(v2, StreamLayout.versionKey(1));
        assertTrue(version2.contains("\"shard_table\"") && !version2.contains("\"shards\""), version2);

        String config1 = text(v1, StreamConfig.KEY);
        assertTrue(config1.contains("\"format_version\":1") && !config1.contains("index_segment_bytes")
                && !config1.contains("data_layout"), "a version-1 stream carries no version-2 field: " + config1);
        String version1 = text(v1, StreamLayout.versionKey(1));
        assertTrue(version1.contains("\"shards\"") && !version1.contains("shard_table"),
                "writers keep a version-1 stream in the form older readers read: " + version1);
        // Snapshots are written in the background, one at a time, so the two streams need not
        // have them at the same versions: take one with inline entries from each.
        String snap1 = snapshotWithInlineEntries(v1);
        String snap2 = snapshotWithInlineEntries(v2);
        for (String seg : List.of(StreamLayout.segmentKey(0), StreamLayout.segmentKey(16))) {
            assertFalse(text(v1, seg).contains("shard_table"), seg + " of a version-1 stream is per shard");
            assertTrue(text(v2, seg).contains("shard_table"), seg + " of a version-2 stream is compact");
        }
        assertFalse(text(v1, snap1).contains("shard_table"), snap1 + " of a version-1 stream is per shard");
        assertTrue(text(v2, snap2).contains("shard_table"), snap2 + " of a version-2 stream is compact");
        assertTrue(text(v1, snap1).contains("\"format_version\":1"));

        List<List<Streams.Seen>> a = Streams.readAll(v2, W);
        List<List<Streams.Seen>> b = Streams.readAll(v1, W);
        Streams.assertExactlyOnce(a, Streams.range(800));
        assertEquals(a.get(0).size(), b.get(0).size());
        for (int r = 0; r < W; r++) {
            for (int s = 0; s < a.get(r).size(); s++) {
                assertEquals(b.get(r).get(s).sha256(), a.get(r).get(s).sha256(), "same bytes at step " + s + " rank " + r);
            }
        }
        assertEquals(ManifestLog.open(v1).entry(3).shards(), ManifestLog.open(v2).entry(3).shards(),
                "both forms describe the same shards");
    }

    /** Rewrites a checksum array of the first TGB of version 1 (no snapshot covers it: snapshot interval 1000). */
    private ObjectStore withEditedChecksums(String name, String field, java.util.function.UnaryOperator<byte[]> edit)
            throws Exception {
        ObjectStore store = produce(name, StreamConfig.of(W).withSnapshotInterval(1000), 16);
        String key = StreamLayout.versionKey(1);
        ObjectNode v = (ObjectNode) Json.MAPPER.readTree(store.get(key));
        ObjectNode table = (ObjectNode) v.get("tgbs").get(0).get("shard_table");
        table.put(field, Base64.getEncoder().encodeToString(edit.apply(Base64.getDecoder().decode(table.get(field).asText()))));
        store.put(key, Json.MAPPER.writeValueAsBytes(v));
        return store;
    }

    @Test
    void aFlippedChecksumInTheTableFailsTheReadOfThatRankNamingIt() throws Exception {
        ObjectStore store = withEditedChecksums("flip", "crc32c", b -> {
            ByteBuffer crcs = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            crcs.putInt(4 * 2, crcs.getInt(4 * 2) ^ 1); // rank 2's checksum, one bit
            return b;
        });

        try (RankReader ok = RankReader.open(store, 1, W, 0, ReaderOptions.defaults()); StepBatch b = ok.next(30_000)) {
            assertEquals(0, b.step(), "rank 1's checksum is intact");
        }
        try (RankReader bad = RankReader.open(store, 2, W, 0, ReaderOptions.defaults())) {
            ChecksumMismatchException e = assertThrows(ChecksumMismatchException.class, () -> bad.next(30_000));
            assertTrue(e.getMessage().contains("step 0 rank 2") && e.getMessage().contains("crc32c"), e.getMessage());
        }
    }

    @Test
    void aMalformedTableIsAnErrorNamingTheVersionAndBatch() throws Exception {
        ObjectStore store = withEditedChecksums("bad", "crc32c", b -> java.util.Arrays.copyOf(b, 8)); // two checksums short
        String key = StreamLayout.versionKey(1);
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(store));
        // 2 shard checksums but 4 header checksums: malformed, named by version and batch
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("TGB p0/1-1") && e.getMessage().contains("header_crc32c"),
                e.getMessage());
    }

    // ---------------------------------------------------------------- byte-bounded segments

    /** One encoded global batch of one sample per rank, whose shard table the log tests reuse. */
    private static BatchObject.Encoded oneBatch(int w) {
        SyntheticSource src = new SyntheticSource(w, 1, 0, 1, 8);
        return BatchObject.encode(src.globalBatch(src.take(0, w), w), Codec.NONE, Map.of());
    }

    /** TGB entries for steps as one producer's consecutive batches, all with {@code table}'s shards. */
    private static List<TgbEntry> entries(ShardTable table, long objectSize, long fromSeq, int n) {
        List<TgbEntry> out = new ArrayList<>();
        for (long seq = fromSeq; seq < fromSeq + n; seq++) {
            out.add(new TgbEntry("p", 1, seq, "next=" + seq, StreamLayout.batchObjectKey("p", 1, seq), objectSize, "none", table));
        }
        return out;
    }

    private static void commit(ManifestLog log, List<TgbEntry> tgbs) {
        TgbEntry last = tgbs.get(tgbs.size() - 1);
        log.commit("p", s -> new Changes(Map.of("p", new ProducerState(1, last.seq(), last.cursor())), tgbs, List.of()));
    }

    @Test
    void segmentsCloseAtTheirByteBoundAndEveryStepIsFoundFromTheSnapshotWithoutListing() throws Exception {
        int w = 64;
        BatchObject.Encoded enc = oneBatch(w);
        ShardTable table = (ShardTable) enc.shards();
        long entryBytes = Json.write(entries(table, enc.bytes().length, 1, 1).get(0)).length;
        long bound = 4 * entryBytes + entryBytes / 2; // four entries per segment
        FileStore fs = FileStore.open(dir.resolve("seg"), true);
        StreamConfig cfg = StreamConfig.of(w).withIndexSegmentSteps(16).withIndexSegmentBytes(bound).withSnapshotInterval(4);
        ManifestLog log = ManifestLog.openOrCreate(fs, cfg);
        List<TgbEntry> all = entries(table, enc.bytes().length, 1, 70);
        for (int i = 0; i < all.size(); i += 3) {
            commit(log, all.subList(i, Math.min(all.size(), i + 3)));
        }
        ManifestState s = ManifestLog.open(fs).state();
        assertEquals(70, s.committedSteps());
        assertTrue(s.indexedSteps() >= 60, "segments were written: indexed " + s.indexedSteps());
        // 16-step slots of 4 + 4 + 4 + 4 entries: splits at 4, 8, 12, 20, 24, 28, ...
        assertTrue(s.indexSplits().containsAll(List.of(4L, 8L, 12L, 20L)), s.indexSplits().toString());
        assertFalse(s.indexSplits().contains(16L), "multiples of index_segment_steps are implied, never listed");
        long segments = 0;
        for (var o : fs.list(StreamLayout.INDEX_PREFIX, null, 1000)) {
            segments++;
            assertTrue(o.size() <= bound + 64, o.key() + " has " + o.size() + " bytes, bound " + bound);
        }
        assertEquals((s.indexedSteps() + 3) / 4, segments);

        CountingStore counting = new CountingStore(fs);
        ManifestLog fresh = ManifestLog.open(counting, true);
        counting.reset();
        for (long step = 0; step < 70; step++) {
            assertEquals(all.get((int) step), fresh.entry(step), "step " + step);
        }
        assertEquals(0, counting.lists.get(), "a step's segment is found from the snapshot, never by listing");
        assertTrue(counting.gets.get() <= (s.indexedSteps() + 3) / 4, "one GET per segment: " + counting.gets.get());
    }

    @Test
    void aSegmentAnotherWriterClosedElsewhereIsAdopted() {
        int w = 8;
        BatchObject.Encoded enc = oneBatch(w);
        FileStore fs = FileStore.open(dir.resolve("adopt"), true);
        StreamConfig cfg = StreamConfig.of(w).withIndexSegmentSteps(8).withSnapshotInterval(4);
        ManifestLog log = ManifestLog.openOrCreate(fs, cfg);
        List<TgbEntry> all = entries((ShardTable) enc.shards(), enc.bytes().length, 1, 12);
        // another writer (another implementation, a smaller byte bound) closed [0, 3) already
        assertTrue(fs.putIfAbsent(StreamLayout.segmentKey(0), Json.write(new Snapshot.SegmentFile(0, all.subList(0, 3)))));
        for (int i = 0; i < all.size(); i += 2) {
            commit(log, all.subList(i, i + 2));
        }
        ManifestState s = ManifestLog.open(fs).state();
        assertTrue(s.indexedSteps() >= 8, "indexed " + s.indexedSteps());
        assertEquals(List.of(3L), s.indexSplits(), "the existing segment's end became a split");
        ManifestLog fresh = ManifestLog.open(fs, true);
        for (long step = 0; step < 12; step++) {
            assertEquals(all.get((int) step), fresh.entry(step), "step " + step);
        }
    }

    @Test
    void aCommitterThatMissedAnotherOnesSnapshotAdoptsItInsteadOfWritingSegmentsAgain() {
        int w = 8;
        BatchObject.Encoded enc = oneBatch(w);
        FileStore fs = FileStore.open(dir.resolve("adopt-snapshot"), true);
        ManifestLog a = ManifestLog.openOrCreate(fs, StreamConfig.of(w).withIndexSegmentSteps(4).withSnapshotInterval(4));
        CountingStore counting = new CountingStore(fs);
        ManifestLog b = ManifestLog.open(counting); // knows no snapshot
        List<TgbEntry> all = entries((ShardTable) enc.shards(), enc.bytes().length, 1, 12);
        for (int i = 0; i < 10; i++) {
            commit(a, all.subList(i, i + 1)); // versions 0..9: snapshots at 4 and 8, segments [0,4), [4,8)
        }
        counting.reset();
        commit(b, all.subList(10, 11)); // version 10: ten versions past the last snapshot b knows of (none)
        assertEquals(1, counting.puts.get(), "only the version itself: snapshot 8 (from the hint) covers the segments");
        assertEquals(8, b.state().indexedSteps());
        assertEquals(8, b.state().lastSnapshotVersion());
        assertEquals(all.get(2), ManifestLog.open(fs, true).entry(2));
    }

    @Test
    void splitsBelowTheReclaimedStepAreDroppedSoTheSnapshotStaysBounded() {
        int w = 64;
        BatchObject.Encoded enc = oneBatch(w);
        ShardTable table = (ShardTable) enc.shards();
        long entryBytes = Json.write(entries(table, enc.bytes().length, 1, 1).get(0)).length;
        FileStore fs = FileStore.open(dir.resolve("trim"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(w).withIndexSegmentSteps(16)
                .withIndexSegmentBytes(2 * entryBytes + 8).withSnapshotInterval(2));
        List<TgbEntry> all = entries(table, enc.bytes().length, 1, 64);
        for (int i = 0; i < 40; i += 4) {
            commit(log, all.subList(i, i + 4));
        }
        assertTrue(ManifestLog.open(fs).state().indexSplits().contains(2L));
        log.commit("gc", st -> new Changes(Map.of(), List.of(), List.of(), 33L));
        for (int i = 40; i < 64; i += 4) {
            commit(log, all.subList(i, i + 4));
        }
        ManifestState s = ManifestLog.open(fs).state();
        assertTrue(s.indexSplits().stream().allMatch(x -> x >= 32), "splits below the reclaimed step's segment are gone: "
                + s.indexSplits());
        ManifestLog fresh = ManifestLog.open(fs, true);
        for (long step = 33; step < 64; step++) {
            assertEquals(all.get((int) step), fresh.entry(step), "step " + step);
        }
        assertInstanceOf(BelowFloorException.class, assertThrows(RuntimeException.class, () -> fresh.entry(5)));
    }

    @Test
    void aVersion1ConfigWithVersion2FieldsIsRefused() {
        FileStore fs = FileStore.open(dir.resolve("mixed"), true);
        fs.put(StreamConfig.KEY, ("{\"format\":\"lakestream\",\"format_version\":1,\"world_size\":2,\"data_layout\":\"hashed\"}")
                .getBytes(StandardCharsets.UTF_8));
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("format_version 1") && e.getMessage().contains("data_layout"), e.getMessage());
    }

    @Test
    void theHashedLayoutSpreadsBatchObjectsAndReadersAndGcFollowIt() {
        ObjectStore store = produce("hashed", Streams.config(W).withDataLayout(StreamConfig.LAYOUT_HASHED), 160);
        java.util.Set<String> prefixes = new java.util.TreeSet<>();
        for (var o : store.list(StreamLayout.DATA_PREFIX, null, 1000)) {
            StreamLayout.Key k = StreamLayout.parse(o.key());
            assertTrue(k instanceof StreamLayout.BatchObject b && b.hashed(), o.key());
            prefixes.add(o.key().substring(0, o.key().lastIndexOf('/')));
        }
        assertTrue(prefixes.size() > 10, "20 batches of one producer under many prefixes: " + prefixes);
        Streams.assertExactlyOnce(Streams.readAll(store, W), Streams.range(160));
        ManifestLog log = ManifestLog.open(store);
        io.lakestream.retention.Checkpoints.record(log, 10, "c10");
        var report = new io.lakestream.retention.GarbageCollector(log, Long.MAX_VALUE).run(false);
        assertEquals(10, report.batchObjects(), report.toString());
        assertTrue(report.unrecognisedKeys().isEmpty(), report.toString());
        assertEquals(10, store.list(StreamLayout.DATA_PREFIX, null, 1000).size());
    }
}
