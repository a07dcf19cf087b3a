package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakestream.format.BatchEncoder;
import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.ShardTable;
import io.lakestream.format.TensorData;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Pins the bytes the format writes for fixed inputs (docs/format.md): a manifest version, a
 * snapshot, an index segment and a TGB object. Changing how they are produced (e.g. to allocate
 * less) must not change one byte of them.
 */
class WireBytesTest {
    /** Uniform compact table with header fields (what the built-in producers write). */
    private static TgbEntry uniform() {
        List<ShardEntry> s = List.of(new ShardEntry(0, 262808, 0xFFFF_FFFFL, 262808, 64, 0, 664L, 0x1234_5678L),
                new ShardEntry(262808, 262808, 0, 262808, 64, 64, 664L, 0x8000_0000L));
        return new TgbEntry("alloc", 1, 2999, "c", "data/alloc/00000001-000000002999.tgb", 525_700, "none", ShardTable.of(s), null,
                null);
    }

    /** Compact table with per-shard lengths, raw lengths differing, uneven samples, no header fields; control and record range. */
    private static TgbEntry ragged() {
        List<ShardEntry> s = List.of(new ShardEntry(0, 100, 7, 300, 5, 0), new ShardEntry(100, 50, 8, 120, 1, 5),
                new ShardEntry(150, 0, 0, 0, 0, 6));
        return new TgbEntry("p-2", 3, 0, null, "data/p-2/00000003-000000000000.tgb", 4096, "lz4", ShardTable.of(s), 2L,
                new RecordRange(10L, 9_000_000_000L));
    }

    /** The per-shard form (shards not back to back cannot be written compactly). */
    private static TgbEntry perShard() {
        List<ShardEntry> s = List.of(new ShardEntry(8, 10, 1, 10, 2, 0, 4L, 5L), new ShardEntry(40, 10, 2, 10, 2, 2, 4L, 6L));
        return new TgbEntry("q", 1, 1, "cur\"sor\u00e9", "data/q/00000001-000000000001.tgb", 100, "none", s, null, null);
    }

    private static final String UNIFORM = "{\"codec\":\"none\",\"cursor\":\"c\",\"epoch\":1,\"object\":\"data/alloc/00000001-000000002999.tgb\","
            + "\"object_size\":525700,\"producer\":\"alloc\",\"seq\":2999,\"shard_table\":{\"crc32c\":\"/////wAAAAA=\","
            + "\"header_crc32c\":\"eFY0EgAAAIA=\",\"header_length\":664,\"length\":262808,\"total_samples\":128}}";
    private static final String RAGGED = "{\"codec\":\"lz4\",\"control\":2,\"cursor\":null,\"epoch\":3,\"object\":\"data/p-2/00000003-000000000000.tgb\","
            + "\"object_size\":4096,\"producer\":\"p-2\",\"record_range\":{\"first\":10,\"last\":9000000000},\"seq\":0,\"shard_table\":"
            + "{\"crc32c\":\"BwAAAAgAAAAAAAAA\",\"lengths\":[100,50,0],\"raw_lengths\":[300,120,0],\"shard_samples\":[5,1,0]}}";
    private static final String PER_SHARD = "{\"codec\":\"none\",\"cursor\":\"cur\\\"sor\u00e9\",\"epoch\":1,\"object\":\"data/q/00000001-000000000001.tgb\","
            + "\"object_size\":100,\"producer\":\"q\",\"seq\":1,\"shards\":[{\"crc32c\":1,\"first_sample\":0,\"header_crc32c\":5,"
            + "\"header_length\":4,\"length\":10,\"offset\":8,\"raw_length\":10,\"samples\":2},{\"crc32c\":2,\"first_sample\":2,"
            + "\"header_crc32c\":6,\"header_length\":4,\"length\":10,\"offset\":40,\"raw_length\":10,\"samples\":2}]}";

    private static String json(Object o) {
        return new String(Json.write(o), StandardCharsets.UTF_8);
    }

    @Test
    void entriesAreWrittenAsPinned() {
        assertEquals(UNIFORM, json(uniform()));
        assertEquals(RAGGED, json(ragged()));
        assertEquals(PER_SHARD, json(perShard()));
        // and what is read back writes the same bytes
        for (TgbEntry e : List.of(uniform(), ragged(), perShard())) {
            String j = json(e);
            assertEquals(j, json(Json.read(j.getBytes(StandardCharsets.UTF_8), TgbEntry.class, "test")));
        }
    }

    @Test
    void versionSnapshotAndSegmentAreWrittenAsPinned() {
        TreeMap<String, ProducerState> producers = new TreeMap<>(Map.of("alloc", new ProducerState(1, 2999, "c"),
                "p-2", new ProducerState(3, 0, null)));
        VersionFile v = new VersionFile(823, "b07d2543-2a57-4392-bb90-d16d66a1e292", "alloc", 1_796_557_277_908L, 2998, producers,
                List.of(uniform(), ragged(), perShard()), List.of(new CheckpointRecord(12, "ck", 5)), 3L, null, null);
        String entries = UNIFORM + "," + RAGGED + "," + PER_SHARD;
        assertEquals("{\"checkpoints\":[{\"id\":\"ck\",\"step\":12,\"timestamp_millis\":5}],\"commit_token\":\"b07d2543-2a57-4392-bb90-d16d66a1e292\","
                + "\"committer\":\"alloc\",\"first_step\":2998,\"producers\":{\"alloc\":{\"cursor\":\"c\",\"epoch\":1,\"seq\":2999},"
                + "\"p-2\":{\"cursor\":null,\"epoch\":3,\"seq\":0}},\"reclaimed_below_step\":3,\"tgbs\":[" + entries + "],"
                + "\"timestamp_millis\":1796557277908,\"version\":823}", json(v));
        Snapshot s = new Snapshot(2, 823, 3001, producers, 2998, List.of(uniform(), ragged(), perShard()), List.of(), 0, null,
                List.of(), List.of(1500L));
        assertEquals("{\"checkpoints\":[],\"committed_steps\":3001,\"format_version\":2,\"index_splits\":[1500],\"indexed_steps\":2998,"
                + "\"producers\":{\"alloc\":{\"cursor\":\"c\",\"epoch\":1,\"seq\":2999},\"p-2\":{\"cursor\":null,\"epoch\":3,\"seq\":0}},"
                + "\"reclaimed_below_step\":0,\"tail\":[" + entries + "],\"version\":823}", json(s));
        assertEquals("{\"first_step\":2998,\"tgbs\":[" + entries + "]}",
                json(new Snapshot.SegmentFile(2998, List.of(uniform(), ragged(), perShard()))));
    }

    private static final String NONE_ENTRY = "{\"codec\":\"none\",\"cursor\":\"c\",\"epoch\":1,\"object\":\"data/alloc/00000001-000000002999.tgb\",\"object_size\":758,\"producer\":\"alloc\",\"seq\":2999,"
            + "\"shard_table\":{\"crc32c\":\"fzAcuQJwDso=\",\"header_crc32c\":\"cWqIH/cn8nA=\",\"header_length\":160,\"length\":184,\"total_samples\":4}}";
    private static final String LZ4_ENTRY = "{\"codec\":\"lz4\",\"cursor\":\"c\",\"epoch\":1,\"object\":\"data/alloc/00000001-000000002999.tgb\",\"object_size\":758,\"producer\":\"alloc\",\"seq\":2999,"
            + "\"shard_table\":{\"crc32c\":\"Zll3TI3NaSg=\",\"header_crc32c\":\"cWqIH/cn8nA=\",\"header_length\":160,\"length\":185,\"raw_length\":184,\"total_samples\":4}}";

    @Test
    void tgbObjectIsWrittenAsPinned() throws Exception {
        byte[] a = new byte[4 * 2 * 3];
        byte[] b = new byte[4 * 2 * 3];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) (i * 7 + 1);
            b[i] = (byte) (255 - i);
        }
        List<Map<String, TensorData>> shards = List.of(Map.of("tokens", new TensorData(DType.I32, new long[] {2, 3}, a)),
                Map.of("tokens", new TensorData(DType.I32, new long[] {2, 3}, b)));
        for (Codec codec : Codec.values()) {
            BatchEncoder e = new BatchEncoder(codec);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment dst = arena.allocate(e.maxSize(shards));
                for (int round = 0; round < 2; round++) { // a reused encoder writes the same bytes
                    BatchEncoder.Encoded enc = e.encode(shards, "alloc", 1, 2999, dst);
                    byte[] obj = enc.object().toArray(ValueLayout.JAVA_BYTE);
                    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(obj));
                    assertEquals(codec == Codec.NONE ? "193f92a107437ba8fd86d7f265a6a7e274613c15c6d2caa58101c8776f3c02e3"
                            : "b9375361f6699eff2a5883d4cc443212e9b5e0322bad8ec94e9c55a8b8513d02", sha, codec + " object");
                    assertEquals(codec == Codec.NONE ? NONE_ENTRY : LZ4_ENTRY, json(new TgbEntry("alloc", 1, 2999, "c",
                            "data/alloc/00000001-000000002999.tgb", obj.length, codec.id(), enc.shards(), null, null)), codec + " entry");
                }
            }
        }
    }

    /** The entry writer against the mapper writing the {@link TgbEntry.Wire} record (the form it replaced), on random tables. */
    @Test
    void entryWriterMatchesTheWireRecordOnRandomTables() throws Exception {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(23);
        for (int round = 0; round < 500; round++) {
            int n = 1 + rnd.nextInt(9);
            boolean headers = rnd.nextBoolean();
            boolean uniform = rnd.nextBoolean();
            java.util.ArrayList<ShardEntry> s = new java.util.ArrayList<>();
            long off = 0;
            long first = 0;
            long fixed = rnd.nextLong(1L << 40);
            for (int r = 0; r < n; r++) {
                long len = uniform ? fixed : rnd.nextLong(1L << (1 + rnd.nextInt(40)));
                long raw = rnd.nextInt(3) == 0 ? len + rnd.nextInt(100) : len;
                long samples = rnd.nextInt(4) == 0 ? rnd.nextInt(1000) : 7;
                s.add(new ShardEntry(off, len, rnd.nextLong(1L << 32), raw, samples, first, headers ? (Long) rnd.nextLong(len + 1) : null,
                        headers ? (Long) rnd.nextLong(1L << 32) : null));
                off += len;
                first += samples;
            }
            ShardTable t = ShardTable.of(s);
            TgbEntry e = new TgbEntry("p" + round, 1 + rnd.nextInt(5), round, rnd.nextBoolean() ? null : "c" + round,
                    "data/p" + round + "/x.tgb", off, rnd.nextBoolean() ? "none" : "lz4", t, rnd.nextBoolean() ? null : (Long) rnd.nextLong(9),
                    rnd.nextBoolean() ? null : new RecordRange(rnd.nextLong(100), 100 + rnd.nextLong(100)));
            TgbEntry.Wire w = new TgbEntry.Wire(e.producer(), e.epoch(), e.seq(), e.cursor(), e.object(), e.objectSize(), e.codec(), null,
                    t.toWire(), e.control(), e.recordRange());
            assertEquals(Json.MAPPER.writeValueAsString(w), json(e), "round " + round);
        }
    }
}
