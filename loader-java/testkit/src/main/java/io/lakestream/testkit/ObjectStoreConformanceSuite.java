package io.lakestream.testkit;

import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ReadBuffer;
import io.lakestream.store.StoreException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link ObjectStore} contract, run against every store (one subclass each). A subclass
 * supplies a fresh, empty store per test.
 */
public abstract class ObjectStoreConformanceSuite {
    protected ObjectStore store;

    /** A new, empty store. */
    protected abstract ObjectStore newStore() throws Exception;

    /** Keys written for the pagination test: above S3's 1000-key page by default. */
    protected int manyKeys() {
        return 1100;
    }

    @BeforeEach
    public void openStore() throws Exception {
        store = newStore();
    }

    @AfterEach
    public void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] pattern(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static List<String> keys(List<ObjectInfo> infos) {
        return infos.stream().map(ObjectInfo::key).toList();
    }

    // ------------------------------------------------------------ put-if-absent

    @Test
    public void putIfAbsentCreatesOnceAndKeepsTheFirstContent() {
        assertTrue(store.putIfAbsent("_log/00000000000000000001.json", bytes("first")));
        assertFalse(store.putIfAbsent("_log/00000000000000000001.json", bytes("second")));
        assertArrayEquals(bytes("first"), store.get("_log/00000000000000000001.json"));
    }

    /** The producer's path: off-heap bytes, names synced once for several objects. */
    @Test
    public void putIfAbsentFromMemoryWritesExactlyThoseBytes() {
        byte[] data = pattern(300_001, 11);
        try (Arena a = Arena.ofShared()) {
            MemorySegment big = a.allocate(data.length + 64);
            MemorySegment.copy(data, 0, big, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment exact = big.asSlice(0, data.length); // a slice of a larger buffer, as a producer's is
            assertTrue(store.putIfAbsent("data/p/00000001-000000000001.tgb", exact, false));
            assertTrue(store.putIfAbsent("data/p/00000001-000000000002.tgb", exact.asSlice(0, 5), false));
            assertFalse(store.putIfAbsent("data/p/00000001-000000000001.tgb", exact.asSlice(1, 10), true));
            store.syncNames(List.of("data/p/00000001-000000000001.tgb", "data/p/00000001-000000000002.tgb"));
            assertArrayEquals(data, store.get("data/p/00000001-000000000001.tgb"));
            assertArrayEquals(Arrays.copyOf(data, 5), store.get("data/p/00000001-000000000002.tgb"));
            assertTrue(store.putIfAbsent("data/q/00000001-000000000001.tgb", exact.asSlice(0, 0), true), "an empty object");
            assertEquals(0, store.get("data/q/00000001-000000000001.tgb").length);
        }
        try (Arena confined = Arena.ofConfined()) {
            MemorySegment s = confined.allocate(3);
            s.set(ValueLayout.JAVA_BYTE, 1, (byte) 7);
            assertTrue(store.putIfAbsent("data/p/00000001-000000000003.tgb", s, true), "confined memory works too");
            assertArrayEquals(new byte[] {0, 7, 0}, store.get("data/p/00000001-000000000003.tgb"));
        }
    }

    /**
     * The barrier of {@code putIfAbsent(key, data, syncName, beforePublish)}: it runs before the
     * object can be seen (a manifest version must not appear before the names it carries are
     * durable), a throw publishes nothing and reaches the caller as thrown (not as a store
     * failure that a retry layer would repeat), and a taken key stays as it was.
     */
    @Test
    public void putIfAbsentRunsItsBarrierBeforeTheObjectIsVisible() {
        String key = "_log/00000000000000000001.json";
        MemorySegment bytes = MemorySegment.ofArray(bytes("version one"));
        List<String> seen = new ArrayList<>();
        assertTrue(store.putIfAbsent(key, bytes, true, () -> seen.add("barrier, object " + (store.stat(key).isPresent() ? "visible" : "absent"))));
        assertEquals(List.of("barrier, object absent"), seen);
        assertArrayEquals(bytes("version one"), store.get(key));

        IllegalStateException refused = new IllegalStateException("names not durable");
        String next = "_log/00000000000000000002.json";
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> store.putIfAbsent(next, bytes, true, () -> {
                    throw refused;
                }));
        assertTrue(thrown == refused, "the barrier's own exception: " + thrown);
        assertFalse(store.stat(next).isPresent(), "a failed barrier publishes nothing");
        assertEquals(List.of(key), keys(store.list("_log/", null, 10)), "nor leaves anything behind under the prefix");
        assertTrue(store.putIfAbsent(next, bytes, true, () -> { }), "the key is still free");

        assertFalse(store.putIfAbsent(key, MemorySegment.ofArray(bytes("another")), true, () -> { }));
        assertArrayEquals(bytes("version one"), store.get(key), "the first object stays");
    }

    @Test
    public void concurrentPutIfAbsentHasExactlyOneWinner() throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 10; round++) {
                String key = "race/v" + round;
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Boolean>> fs = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    byte[] mine = bytes("writer-" + t + "-round-" + round);
                    fs.add(pool.submit(() -> {
                        go.await();
                        return store.putIfAbsent(key, mine);
                    }));
                }
                go.countDown();
                int winners = 0;
                int winner = -1;
                for (int t = 0; t < threads; t++) {
                    if (fs.get(t).get()) {
                        winners++;
                        winner = t;
                    }
                }
                assertEquals(1, winners, "round " + round + ": exactly one put-if-absent must win");
                assertArrayEquals(bytes("writer-" + winner + "-round-" + round), store.get(key),
                        "the object holds the winner's bytes");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void putReplaces() {
        store.put("hint.json", bytes("one"));
        store.put("hint.json", bytes("two"));
        assertArrayEquals(bytes("two"), store.get("hint.json"));
    }

    @Test
    public void emptyObject() {
        assertTrue(store.putIfAbsent("empty", new byte[0]));
        assertEquals(0, store.get("empty").length);
        assertEquals(0, store.stat("empty").orElseThrow().size());
        try (Arena a = Arena.ofConfined()) {
            store.readRange("empty", 0, a.allocate(0)); // zero bytes at the end: fine
        }
    }

    // ------------------------------------------------------------ reads

    @Test
    public void aWholeObjectReadIntoAReusedBufferHoldsExactlyItsBytes() {
        byte[] big = new byte[70_000]; // larger than the buffer's first capacity: it grows
        new Random(7).nextBytes(big);
        byte[] small = "a small one".getBytes(StandardCharsets.UTF_8);
        assertTrue(store.putIfAbsent("buf/big", big));
        assertTrue(store.putIfAbsent("buf/small", small));
        assertTrue(store.putIfAbsent("buf/empty", new byte[0]));
        ReadBuffer into = new ReadBuffer(16);
        assertTrue(store.getIfPresent("buf/big", into));
        assertArrayEquals(big, Arrays.copyOf(into.array(), into.length()));
        assertTrue(store.getIfPresent("buf/small", into)); // reused: only its own bytes count
        assertEquals(small.length, into.length());
        assertArrayEquals(small, Arrays.copyOf(into.array(), into.length()));
        assertFalse(store.getIfPresent("buf/none", into), "an absent key reads as absent");
        assertArrayEquals(small, Arrays.copyOf(into.array(), into.length()), "an absent key leaves the buffer as it was");
        assertTrue(store.getIfPresent("buf/empty", into));
        assertEquals(0, into.length());
    }

    @Test
    public void missingKeys() {
        assertThrows(NoSuchKeyException.class, () -> store.get("nope/x"));
        assertTrue(store.getIfPresent("nope/x").isEmpty());
        assertTrue(store.stat("nope/x").isEmpty());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dst = a.allocate(4);
            assertThrows(NoSuchKeyException.class, () -> store.readRange("nope/x", 0, dst));
        }
    }

    @Test
    public void rangedReadsAtTheEdges() {
        byte[] data = pattern(1000, 1);
        store.put("data/obj.tgb", data);
        try (Arena a = Arena.ofConfined()) {
            assertRange(a, "data/obj.tgb", data, 0, 1);      // first byte
            assertRange(a, "data/obj.tgb", data, 999, 1);    // last byte
            assertRange(a, "data/obj.tgb", data, 0, 1000);   // whole object
            assertRange(a, "data/obj.tgb", data, 123, 456);  // middle
            MemorySegment tooLong = a.allocate(20);
            StoreException e = assertThrows(StoreException.class, () -> store.readRange("data/obj.tgb", 990, tooLong));
            assertFalse(e instanceof NoSuchKeyException, "a short object is not a missing one");
            assertThrows(StoreException.class, () -> store.readRange("data/obj.tgb", 1000, a.allocate(1)));
            assertThrows(StoreException.class, () -> store.readRange("data/obj.tgb", 5000, a.allocate(1)));
            assertThrows(StoreException.class, () -> store.readRange("data/obj.tgb", 0, a.allocate(1001)));
        }
        assertEquals(1000, store.stat("data/obj.tgb").orElseThrow().size());
    }

    private void assertRange(Arena a, String key, byte[] data, int off, int len) {
        MemorySegment dst = a.allocate(len);
        store.readRange(key, off, dst);
        assertArrayEquals(Arrays.copyOfRange(data, off, off + len), dst.toArray(ValueLayout.JAVA_BYTE),
                "range [" + off + ", " + (off + len) + ")");
    }

    @Test
    public void largeObjectRoundTripWithRangedReads() {
        int size = 20 << 20; // above the S3 store's 8 MiB part size: uploaded and read in parallel parts
        byte[] data = pattern(size, 2);
        assertTrue(store.putIfAbsent("data/big.tgb", data));
        assertFalse(store.putIfAbsent("data/big.tgb", pattern(size, 3)), "a large conditional write must also lose");
        assertEquals(size, store.stat("data/big.tgb").orElseThrow().size());
        assertArrayEquals(data, store.get("data/big.tgb"));
        try (Arena a = Arena.ofConfined()) {
            assertRange(a, "data/big.tgb", data, 0, size);
            assertRange(a, "data/big.tgb", data, (8 << 20) - 100, 200);          // across a part boundary
            assertRange(a, "data/big.tgb", data, 3 << 20, 10 << 20);            // a large range spanning parts
            assertRange(a, "data/big.tgb", data, size - 256 * 1024, 256 * 1024); // the tail
        }
    }

    // ------------------------------------------------------------ listing

    @Test
    public void listingIsOrderedFilteredAndBounded() {
        for (String k : List.of("a/2", "a/10", "b/x", "ab", "a/1", "a/1x", "c")) {
            store.put(k, bytes(k));
        }
        assertEquals(List.of("a/1", "a/10", "a/1x", "a/2", "ab", "b/x", "c"), keys(store.list("", null, 100)));
        assertEquals(List.of("a/1", "a/10", "a/1x", "a/2"), keys(store.list("a/", null, 100)));
        assertEquals(List.of("a/1", "a/10", "a/1x", "a/2", "ab"), keys(store.list("a", null, 100)));
        assertEquals(List.of("a/10", "a/1x"), keys(store.list("a/1", null, 100)).subList(1, 3));
        assertEquals(List.of("a/2", "ab", "b/x", "c"), keys(store.list("", "a/1x", 100)));
        assertEquals(List.of("a/1x", "a/2"), keys(store.list("a/", "a/10", 100)));
        assertEquals(List.of("a/1", "a/10"), keys(store.list("a/", null, 2)));
        assertEquals(List.of("b/x", "c"), keys(store.list("", "a/zzz", 100)).subList(1, 3));
        assertEquals(List.of(), keys(store.list("zzz/", null, 100)));
        assertEquals(List.of(), keys(store.list("", "c", 100)));
        ObjectInfo c = store.list("c", null, 1).get(0);
        assertEquals(1, c.size());
    }

    @Test
    public void listingPaginatesPastOneThousandKeys() throws Exception {
        int n = manyKeys();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(String.format("_log/%020d.json", i));
        }
        parallel(expected, k -> store.put(k, bytes(k)));
        store.put("_lakestream.json", bytes("{}")); // outside the prefix
        assertEquals(expected, keys(store.list("_log/", null, Integer.MAX_VALUE)));
        assertEquals(expected.subList(0, n - 7), keys(store.list("_log/", null, n - 7)));
        // page through with start-after, as the manifest log does
        List<String> paged = new ArrayList<>();
        String after = null;
        while (true) {
            List<ObjectInfo> page = store.list("_log/", after, 1000);
            if (page.isEmpty()) {
                break;
            }
            paged.addAll(keys(page));
            after = page.get(page.size() - 1).key();
        }
        assertEquals(expected, paged);
        assertEquals(expected.subList(n - 5, n), keys(store.list("_log/", expected.get(n - 6), 1000)));
        store.deleteAll(expected);
        assertEquals(List.of("_lakestream.json"), keys(store.list("", null, Integer.MAX_VALUE)));
    }

    private static void parallel(List<String> keys, Consumer<String> op) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Object>> fs = new ArrayList<>();
            for (String k : keys) {
                fs.add(pool.submit((Callable<Object>) () -> {
                    op.accept(k);
                    return null;
                }));
            }
            for (Future<Object> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------ delete

    @Test
    public void deleteIsIdempotent() {
        store.delete("never/existed");
        store.put("d/x", bytes("x"));
        store.delete("d/x");
        store.delete("d/x");
        assertTrue(store.stat("d/x").isEmpty());
        assertThrows(NoSuchKeyException.class, () -> store.get("d/x"));
        assertTrue(store.putIfAbsent("d/x", bytes("again")), "a deleted key can be created again");
        store.deleteAll(List.of("d/x", "d/missing"));
        assertTrue(store.list("d/", null, 10).isEmpty());
    }

    // ------------------------------------------------------------ bad keys

    @Test
    public void badKeysAreRejected() {
        for (String bad : new String[] {"", "..", "../escape", "a/../../b", "/abs/key", "a//b", "a/./b", ".hidden", "sp ace",
                                        "trailing/"}) {
            assertThrows(IllegalArgumentException.class, () -> store.get(bad), "get '" + bad + "'");
            assertThrows(IllegalArgumentException.class, () -> store.put(bad, bytes("x")), "put '" + bad + "'");
            assertThrows(IllegalArgumentException.class, () -> store.putIfAbsent(bad, bytes("x")), "putIfAbsent '" + bad + "'");
            assertThrows(IllegalArgumentException.class, () -> store.stat(bad), "stat '" + bad + "'");
            assertThrows(IllegalArgumentException.class, () -> store.delete(bad), "delete '" + bad + "'");
            try (Arena a = Arena.ofConfined()) {
                assertThrows(IllegalArgumentException.class, () -> store.readRange(bad, 0, a.allocate(1)), "readRange '" + bad + "'");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> store.list("../", null, 10));
        assertTrue(store.list("", null, 10).isEmpty(), "nothing was written by the rejected calls");
    }

    @Test
    public void describeNamesTheStore() {
        String d = store.describe();
        assertTrue(d.startsWith("file://") || d.startsWith("s3://") || d.startsWith("faulty("), d);
    }
}
