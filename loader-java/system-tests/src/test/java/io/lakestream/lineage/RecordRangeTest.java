package io.lakestream.lineage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorData;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.RecordRange;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamEnd;
import io.lakestream.log.TgbEntry;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * find reads only the batch objects whose manifest record range ({@code record_range}) holds the
 * record, for producers whose cursors lineage cannot interpret (a Python producer's, any custom
 * one's); entries without a range (written before the field existed) are still read and found.
 */
class RecordRangeTest {
    static final int W = 2;
    static final int B = 3; // samples per rank

    @TempDir
    Path dir;

    /** One global batch whose rank r holds records {@code first + (r*B + i) * stride}, i < B. */
    private static List<Map<String, TensorData>> batch(long first, long stride) {
        List<Map<String, TensorData>> shards = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            long[] ids = new long[B];
            int[] toks = new int[B * 4];
            for (int i = 0; i < B; i++) {
                ids[i] = first + (r * B + i) * stride;
                for (int t = 0; t < 4; t++) {
                    toks[i * 4 + t] = (int) (ids[i] + t);
                }
            }
            Map<String, TensorData> m = new LinkedHashMap<>();
            m.put("tokens", TensorData.ofInts(toks, B, 4));
            m.put("record_id", TensorData.ofLongs(ids, B));
            shards.add(m);
        }
        return shards;
    }

    private static ProducerOptions inline() {
        return ProducerOptions.defaults().withGroup(1, 1, false).withWriteParallelism(0);
    }

    /**
     * Producer {@code id} appends {@code steps} batches of consecutive ids from {@code first} (stride 1)
     * or, with stride 2, every other id: two such producers interleave so their ranges overlap.
     * Cursors are opaque ("batch-N"), as a Python producer's are: they rule nothing out.
     */
    private static void produce(ObjectStore store, StreamConfig cfg, String id, long first, long stride, int steps) {
        try (TgbProducer p = TgbProducer.open(store, id, cfg, inline())) {
            for (int s = 0; s < steps; s++) {
                p.append(batch(first + (long) s * W * B * stride, stride), "batch-" + (s + 1));
            }
            p.commit();
        }
    }

    /** The objects of the committed steps whose range holds {@code id} (what find may read). */
    private static Set<String> holding(ManifestLog log, long id) {
        Set<String> out = new TreeSet<>();
        for (long s = 0; s < log.state().committedSteps(); s++) {
            TgbEntry e = log.entry(s);
            if (e.recordRange() == null || e.recordRange().mayHold(id)) {
                out.add(e.object());
            }
        }
        return out;
    }

    @Test
    void findReadsOnlyTheObjectsWhoseRangeHoldsTheRecord() {
        // Small snapshot interval and segments: ranges must survive the snapshot tail and the index.
        StreamConfig cfg = StreamConfig.of(W).withSnapshotInterval(4).withIndexSegmentSteps(8);
        CountingStore store = new CountingStore(FileStore.open(dir.resolve("s"), true));
        produce(store, cfg, "solo", 0, 1, 20); // steps 0-19: records 0..119, 6 per step, in order
        produce(store, cfg, "even", 1000, 2, 5); // steps 20-24: 1000, 1002, ... 1058
        produce(store, cfg, "odd", 1001, 2, 5); // steps 25-29: 1001, 1003, ... 1059: ranges overlap the evens'
        ManifestLog log = ManifestLog.open(store);
        for (long s = 0; s < 30; s++) {
            RecordRange r = log.entry(s).recordRange();
            assertNotNull(r, "step " + s + " (read back from a snapshot or a segment) carries its range");
        }
        assertEquals(new RecordRange(6L, 11L), log.entry(1).recordRange());
        assertEquals(new RecordRange(1012L, 1022L), log.entry(21).recordRange());

        for (long id : new long[] {0, 7, 61, 119, 1014, 1015, 1059}) {
            store.reset();
            RecordSearch f = Lineage.find(store, id);
            assertEquals("found", f.status(), f.message());
            assertEquals(1, f.hits().size(), f.hits().toString());
            Set<String> expect = holding(log, id);
            assertEquals(expect, store.batchObjectsRead, "record " + id + ": only the objects whose range holds it");
            assertEquals(expect.size(), f.objectsRead());
            assertEquals(W * expect.size(), store.batchObjectGets.get(), "one ranged GET per rank of each candidate");
            assertTrue(expect.size() <= 2, "record " + id + ": " + expect.size() + " of 30 objects can hold it");
        }
        // 1014 is in the evens' step 21 (1012..1022) and inside the range of the odds' step 26
        // (1013..1023): both are read, one holds it.
        store.reset();
        RecordSearch f = Lineage.find(store, 1014);
        assertEquals(2, f.objectsRead());
        assertEquals(21, f.hits().get(0).step());

        // An id no range holds is answered from the log alone; on a closed stream it is final.
        StreamEnd.close(store);
        for (long id : new long[] {120, 500, 2000, -1}) {
            store.reset();
            RecordSearch none = Lineage.find(store, id);
            assertEquals("not_found", none.status(), none.message());
            assertEquals(0, none.objectsRead());
            assertEquals(0, store.batchObjectGets.get(), "record " + id + ": no batch object read");
            assertTrue(none.message().contains("the stream is closed (it ended at step 30)"), none.message());
        }
    }

    @Test
    void entriesWithoutARangeAreStillReadAndFound() throws Exception {
        StreamConfig cfg = StreamConfig.of(W); // no snapshot in 10 versions: the versions are the log
        FileStore fs = FileStore.open(dir.resolve("old"), true);
        produce(fs, cfg, "p", 0, 1, 6); // steps 0-5: records 0..35
        // As a writer that predates the field wrote them: every version without record_range.
        int stripped = 0;
        for (var o : fs.list("_log/", null, Integer.MAX_VALUE)) {
            String json = new String(fs.get(o.key()), StandardCharsets.UTF_8);
            String old = json.replaceAll(",?\"record_range\":\\{[^}]*\\}", "");
            if (!old.equals(json)) {
                fs.put(o.key(), old.getBytes(StandardCharsets.UTF_8));
                stripped++;
            }
        }
        assertEquals(6, stripped, "one version per batch carried a range");
        produce(fs, cfg, "p", 36, 1, 4); // steps 6-9, a newer writer: records 36..59, with ranges
        CountingStore store = new CountingStore(fs);
        ManifestLog log = ManifestLog.open(store);
        for (long s = 0; s < 10; s++) {
            assertEquals(s >= 6, log.entry(s).recordRange() != null, "step " + s);
        }
        Set<String> unranged = new HashSet<>();
        for (long s = 0; s < 6; s++) {
            unranged.add(log.entry(s).object());
        }
        for (long id = 0; id < 60; id += 7) {
            store.reset();
            RecordSearch f = Lineage.find(store, id);
            assertEquals("found", f.status(), f.message());
            assertEquals(id / (W * B), f.hits().get(0).step(), "record " + id);
            Set<String> expect = new TreeSet<>(unranged);
            if (id >= 36) {
                expect.add(log.entry(id / (W * B)).object());
            }
            // old entries: read (their opaque cursors rule nothing out); new ones: only the one holding it
            assertEquals(expect, new TreeSet<>(store.batchObjectsRead), "record " + id);
        }
    }

    @Test
    void theRangeBoundsPackedAndI32IdsAndIsAbsentWithoutIds() {
        List<Map<String, TensorData>> packed = new ArrayList<>();
        packed.add(Map.of("record_id", TensorData.ofLongs(new long[] {5, 9}, 2), "last_record_id",
                TensorData.ofLongs(new long[] {9, 14}, 2)));
        packed.add(Map.of("record_id", TensorData.ofInts(new int[] {3}, 1))); // an I32 rank: its last id is its first
        assertEquals(new RecordRange(3L, 14L), RecordRange.of(packed));
        assertNull(RecordRange.of(List.of(Map.of("tokens", TensorData.ofInts(new int[] {1}, 1)))), "no record ids: not stated");
        assertNull(RecordRange.of(List.of(Map.of("record_id", TensorData.ofInts(new int[] {1, 2}, 1, 2)))),
                "a form lineage does not read: not stated, so find reads it and says why");
        assertNull(RecordRange.of(List.of(Map.of("record_id", TensorData.ofLongs(new long[0], 0)))), "no samples: not stated");
    }

    @Test
    void aMalformedRangeIsRefusedNamingTheBatchAndField() {
        FileStore fs = FileStore.open(dir.resolve("bad"), true);
        produce(fs, StreamConfig.of(W), "p", 0, 1, 1);
        String key = ManifestLog.versionKey(1);
        String json = new String(fs.get(key), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"record_range\":{\"first\":0,\"last\":5}"), json);
        for (String[] bad : new String[][] {{"{\"first\":9,\"last\":5}", "first 9 is above last 5"},
                {"{\"first\":0}", "needs both 'first' and 'last'"}}) {
            fs.put(key, json.replace("{\"first\":0,\"last\":5}", bad[0]).getBytes(StandardCharsets.UTF_8));
            LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
            assertTrue(e.getMessage().contains(bad[1]) && e.getMessage().contains("TGB p/1-1")
                    && e.getMessage().contains("00000000000000000001.json"), e.getMessage());
        }
        // null is absent (format.md §4): the entry reads as one without a range, and find reads its object
        fs.put(key, json.replace("{\"first\":0,\"last\":5}", "null").getBytes(StandardCharsets.UTF_8));
        assertNull(ManifestLog.open(fs).entry(0).recordRange());
        RecordSearch f = Lineage.find(fs, 4);
        assertEquals(1, f.objectsRead());
        assertEquals(1, f.hits().size());
    }
}
