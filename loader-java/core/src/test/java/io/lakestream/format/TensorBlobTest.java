package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** TensorBlob.parse, including its cached-header fast path: a hit must never change results. */
class TensorBlobTest {

    private static Map<String, TensorData> shard(int samples, int seq, int base) {
        int[] tokens = new int[samples * seq];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = base + i;
        }
        long[] ids = new long[samples];
        for (int i = 0; i < samples; i++) {
            ids[i] = base + i;
        }
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("tokens", TensorData.ofInts(tokens, samples, seq));
        m.put("record_id", TensorData.ofLongs(ids, samples));
        return m;
    }

    private static MemorySegment offHeap(Arena arena, byte[] b) {
        return arena.allocate(b.length).copyFrom(MemorySegment.ofArray(b));
    }

    /** One parser per test, as one per reader: its cache is what these tests exercise. */
    private final TensorBlob.Parser parser = new TensorBlob.Parser();

    @Test
    void theStaticParseNeedsNoParserAndGivesTheSameViews() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment blob = offHeap(arena, TensorBlob.encode(shard(4, 16, 100)));
            List<TensorBlob.View> a = TensorBlob.parse(blob, "static");
            List<TensorBlob.View> b = parser.parse(blob, "parser");
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                assertEquals(a.get(i).name(), b.get(i).name());
                assertArrayEquals(a.get(i).shape(), b.get(i).shape());
                assertEquals(a.get(i).data().address(), b.get(i).data().address());
            }
        }
    }

    @Test
    void repeatedAndAlternatingHeadersParseToTheRightViews() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a1 = offHeap(arena, TensorBlob.encode(shard(4, 16, 100)));
            MemorySegment a2 = offHeap(arena, TensorBlob.encode(shard(4, 16, 900))); // same header, other data
            MemorySegment b = offHeap(arena, TensorBlob.encode(shard(3, 8, 5)));     // another header
            for (int round = 0; round < 3; round++) {
                for (MemorySegment blob : List.of(a1, a2, b, a1)) {
                    List<TensorBlob.View> v = parser.parse(blob, "test");
                    assertEquals(2, v.size());
                    assertEquals("tokens", v.get(0).name());
                    assertEquals(DType.I32, v.get(0).dtype());
                    assertEquals("record_id", v.get(1).name());
                    long samples = blob == b ? 3 : 4;
                    long seq = blob == b ? 8 : 16;
                    assertArrayEquals(new long[] {samples, seq}, v.get(0).shape());
                    assertArrayEquals(new long[] {samples}, v.get(1).shape());
                    int base = blob == a1 ? 100 : blob == a2 ? 900 : 5;
                    assertEquals(base + 1, v.get(0).data().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 1));
                    assertEquals(samples * seq * 4, v.get(0).data().byteSize());
                    // Views alias the blob: no copy.
                    assertEquals(blob.address() + 8 + blob.get(ValueLayout.JAVA_LONG_UNALIGNED, 0), v.get(0).data().address());
                    v.get(0).shape()[0] = -1; // a caller scribbling on its shape must not reach the cache
                }
            }
        }
    }

    @Test
    void steadyStateParseDoesNotAllocateAJsonTree() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment blob = offHeap(arena, TensorBlob.encode(shard(32, 2048, 1)));
            for (int i = 0; i < 20_000; i++) { // warm up: JIT, escape analysis
                parser.parse(blob, "warm-up");
            }
            int n = 1000;
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < n; i++) {
                parser.parse(blob, "steady");
            }
            long perParse = (mx.getCurrentThreadAllocatedBytes() - before) / n;
            // Two views with their shape arrays and slices: a few hundred bytes. A JSON parse is ~3.4 KB.
            assertTrue(perParse < 1024, perParse + " bytes allocated per parse");
        }
    }

    @Test
    void cachedHeaderStillRejectsAShortDataSection() {
        byte[] good = TensorBlob.encode(shard(4, 16, 1));
        try (Arena arena = Arena.ofConfined()) {
            parser.parse(offHeap(arena, good), "warm the cache");
            MemorySegment truncated = offHeap(arena, java.util.Arrays.copyOf(good, good.length - 4));
            FormatException e = assertThrows(FormatException.class, () -> parser.parse(truncated, "step 9"));
            assertEquals(true, e.getMessage().startsWith("step 9"), e.getMessage());
        }
    }

    @Test
    void sameLengthHeaderWithOtherContentIsReparsed() {
        byte[] i32 = TensorBlob.encode(Map.of("x", TensorData.ofInts(new int[] {1, 2, 3, 4}, 4)));
        byte[] f32 = TensorBlob.encode(Map.of("x", TensorData.ofFloats(new float[] {1, 2, 3, 4}, 4)));
        assertEquals(i32.length, f32.length);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(DType.I32, parser.parse(offHeap(arena, i32), "a").get(0).dtype());
            assertEquals(DType.F32, parser.parse(offHeap(arena, f32), "b").get(0).dtype());
            assertEquals(DType.I32, parser.parse(offHeap(arena, i32), "c").get(0).dtype());
        }
    }

    /** A blob with a hand-written header (padded to 8 bytes like the writer does) and {@code dataLen} zero bytes. */
    static MemorySegment blob(String header, int dataLen) {
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int padded = (h.length + 7) & ~7;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + padded + dataLen).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        return MemorySegment.ofArray(b.array());
    }

    private static String rejected(String header, int dataLen) {
        return assertThrows(FormatException.class, () -> TensorBlob.parse(blob(header, dataLen), "step 3 rank 1")).getMessage();
    }

    @Test
    void overlappingTensorsAreRejectedEvenWhenAHoleBalancesTheByteCount() {
        // review finding: a and b both cover [0,4) and [4,8) is a hole: 8 bytes "covered" of 8
        String m = rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        assertTrue(m.contains("step 3 rank 1") && m.contains("overlap"), m);
        m = rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        assertTrue(m.contains("tensor 'b' starts at data byte 8") && m.contains("hole"), m);
        m = rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        assertTrue(m.contains("trailing"), m);
        // out-of-order offsets that tile the data are fine (safetensors allows any header order)
        List<TensorBlob.View> ok = TensorBlob.parse(blob("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"c\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8), "ok");
        assertEquals(3, ok.size());
        assertEquals(4, ok.get(0).data().byteSize());
    }

    @Test
    void shapesWhoseByteSizeOverflowAreRejected() {
        // review finding: [2^62] x 4 bytes wraps to 0 and matched an empty range
        String m = rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0);
        assertTrue(m.contains("tensor 'a'") && m.contains("2^63"), m);
        m = rejected("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
        assertTrue(m.contains("2^63"), m);
    }

    @Test
    void badDimensionsAreRejectedNamingTheTensor() {
        assertTrue(rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4).contains("dimension 0"));
        assertTrue(rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4).contains("not a non-negative"));
        assertTrue(rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4).contains("not a non-negative"));
        assertTrue(rejected("{\"a\":{\"dtype\":\"I32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4).contains("not a non-negative"));
        assertTrue(rejected("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4).contains("Q7"));
    }
}
