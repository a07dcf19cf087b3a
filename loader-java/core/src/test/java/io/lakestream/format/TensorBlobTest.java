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
}
