package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The per-sample checksums in a blob's header, and the header fields of a shard entry. */
class SampleCrcTest {
    private static Map<String, TensorData> shard(int seed) {
        int[] tokens = new int[3 * 5];
        long[] ids = new long[3];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = seed * 1000 + i;
        }
        for (int i = 0; i < 3; i++) {
            ids[i] = seed * 10L + i;
        }
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("tokens", TensorData.ofInts(tokens, 3, 5));
        m.put("record_id", TensorData.ofLongs(ids, 3));
        return m;
    }

    @Test
    void headerCarriesOneCrcPerSampleOverItsRowsOfEveryTensor() {
        Map<String, TensorData> m = shard(1);
        byte[] blob = TensorBlob.encode(m);
        TensorBlob.Header h = TensorBlob.readHeader(MemorySegment.ofArray(blob), "test");
        assertEquals(3, h.sampleCrcs().length);
        for (int i = 0; i < 3; i++) {
            CRC32C c = new CRC32C();
            c.update(m.get("tokens").bytes(), i * 20, 20);
            c.update(m.get("record_id").bytes(), i * 8, 8);
            assertEquals(c.getValue(), h.sampleCrcs()[i], "sample " + i);
        }
        assertEquals(20, h.rowBytes(0));
        assertEquals(8, h.rowBytes(1));
    }

    @Test
    void blobsThatDifferOnlyInDataParseToTheirOwnBytes() {
        // Same shapes, different CRCs: the header cache must skip the CRCs, never the data offsets.
        for (int seed = 1; seed <= 3; seed++) {
            byte[] blob = TensorBlob.encode(shard(seed));
            List<TensorBlob.View> v = TensorBlob.parse(MemorySegment.ofArray(blob), "blob " + seed);
            assertEquals(seed * 10L + 2, v.get(1).data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 2));
        }
    }

    @Test
    void batchObjectRecordsHeaderLengthAndCrc() {
        BatchObject.Encoded enc = BatchObject.encode(List.of(shard(1), shard(2)), Codec.NONE, Map.of());
        for (ShardEntry s : enc.shards()) {
            byte[] raw = java.util.Arrays.copyOfRange(enc.bytes(), (int) s.offset(), (int) (s.offset() + s.length()));
            TensorBlob.Header h = TensorBlob.readHeader(MemorySegment.ofArray(raw), "shard");
            assertEquals(h.headerLength(), s.headerLength());
            assertEquals(Crc32c.of(raw, 0, (int) (long) s.headerLength()), s.headerCrc32c());
        }
        String json = Json.writeString(new ShardEntry(0, 1, 2, 1, 1, 0));
        assertTrue(!json.contains("header"), "older entries stay as they were: " + json);
        assertEquals(new ShardEntry(0, 1, 2, 1, 1, 0, 9L, 7L),
                Json.read(Json.write(new ShardEntry(0, 1, 2, 1, 1, 0, 9L, 7L)), ShardEntry.class, "entry"));
    }

    @Test
    void malformedChecksumsAreReported() {
        byte[] blob = TensorBlob.encode(shard(1));
        String s = new String(blob, StandardCharsets.ISO_8859_1);
        int at = s.indexOf("\"sample_crc32c\":\"") + 17;
        blob[at] = 'z';
        byte[] bad = blob;
        FormatException e = assertThrows(FormatException.class, () -> TensorBlob.readHeader(MemorySegment.ofArray(bad), "shard 9"));
        assertTrue(e.getMessage().contains("shard 9") && e.getMessage().contains("hexadecimal"), e.getMessage());
        assertArrayEquals(new long[] {3, 5}, TensorBlob.parse(MemorySegment.ofArray(bad), "x").get(0).shape(),
                "the read path (whole-shard CRC) does not depend on them");
    }
}
