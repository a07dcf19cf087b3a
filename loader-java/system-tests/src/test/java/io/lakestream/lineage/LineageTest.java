package io.lakestream.lineage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.source.RecordIds;
import io.lakestream.source.SampleBatch;
import io.lakestream.source.SampleSource;
import io.lakestream.source.Sources;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** blame and find against what the rank readers actually deliver. */
class LineageTest {
    static final int W = 2;

    @TempDir
    Path dir;

    /** Three partitioned synthetic producers, interleaved: 600 records, 4 per rank per step. */
    private ObjectStore synthetic(long records, long maxSteps) throws Exception {
        ObjectStore store = FileStore.open(dir.resolve("s"), true);
        Streams.concurrently(3, k -> {
            try (TgbProducer p = Streams.produce(store, "p" + k, W, 4, new SyntheticSource(records, 5, k, 3, 16), maxSteps, Streams.opts())) {
                p.commit();
            }
        });
        return store;
    }

    @Test
    void blameNamesTheRecordsEveryRankReadsAndChainsTheCursors() throws Exception {
        try (ObjectStore store = synthetic(600, -1)) {
            List<List<Streams.Seen>> all = Streams.readAll(store, W);
            Map<String, String> lastCursor = new HashMap<>();
            for (int step = 0; step < all.get(0).size(); step++) {
                StepLineage l = Lineage.blame(store, step);
                assertEquals(W, l.ranks().size());
                for (int r = 0; r < W; r++) {
                    Streams.Seen seen = all.get(r).get(step);
                    assertEquals(seen.object(), l.object());
                    assertArrayEquals(seen.ids(), l.ranks().get(r).recordIds(), "step " + step + " rank " + r);
                    assertNull(l.ranks().get(r).lastRecordIds(), "a synthetic source does not pack");
                }
                assertTrue(l.cursorBeforeKnown());
                assertEquals(lastCursor.get(l.producer()), l.cursorBefore(), "cursor before = the producer's previous cursor after");
                lastCursor.put(l.producer(), l.cursorAfter());
                long[] ids = l.ranks().get(0).recordIds();
                assertEquals(SyntheticSource.cursor(l.ranks().get(W - 1).recordIds()[l.ranks().get(W - 1).recordIds().length - 1] + 3),
                        l.cursorAfter(), "the cursor after is the next record of the producer's partition");
                assertTrue(l.cursorBefore() == null || SyntheticSource.parseCursor(l.cursorBefore()) <= ids[0]);
            }
            StepLineage one = Lineage.blame(store, 3, 1);
            assertEquals(1, one.ranks().size());
            assertEquals(1, one.ranks().get(0).rank());
            assertThrows(IllegalArgumentException.class, () -> Lineage.blame(store, 3, W));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lineage.blame(store, all.get(0).size()));
            assertTrue(e.getMessage().contains("not committed"), e.getMessage());
        }
    }

    @Test
    void findLocatesEveryRecordWhereTheReadersSawItReadingFewObjects() throws Exception {
        try (ObjectStore store = synthetic(600, -1)) {
            List<List<Streams.Seen>> all = Streams.readAll(store, W);
            long steps = all.get(0).size();
            Map<Long, long[]> where = new TreeMap<>();
            for (List<Streams.Seen> rank : all) {
                for (Streams.Seen s : rank) {
                    for (int i = 0; i < s.ids().length; i++) {
                        where.put(s.ids()[i], new long[] {s.step(), s.rank(), i});
                    }
                }
            }
            int maxRead = 0;
            for (long id = 0; id < 600; id += 37) {
                RecordSearch f = Lineage.find(store, id);
                assertEquals("found", f.status(), f.message());
                assertEquals(1, f.hits().size(), "exactly once: " + f.hits());
                RecordSearch.Hit h = f.hits().get(0);
                assertArrayEquals(where.get(id), new long[] {h.step(), h.rank(), h.sample()}, "record " + id);
                assertTrue(f.pending().isEmpty(), "every producer is done");
                maxRead = Math.max(maxRead, f.objectsRead());
            }
            // Three producers' cursor ranges overlap in record numbers: about one object each, not all of them.
            assertTrue(maxRead <= 6 && maxRead < steps / 5, "read at most " + maxRead + " of " + steps + " objects");
            // A synthetic cursor does not know where its source ends, so 600 would read as "not yet";
            // a record of another sub-source is one no producer here will ever deliver.
            RecordSearch none = Lineage.find(store, RecordIds.of(1, 5));
            assertEquals("not_found", none.status(), none.message());
            assertTrue(none.message().contains("no producer will deliver it"), none.message());
        }
    }

    @Test
    void findSaysWhenARecordIsNotProducedYet() throws Exception {
        try (ObjectStore store = synthetic(600, 5)) {
            RecordSearch f = Lineage.find(store, 500);
            assertEquals("not_yet_produced", f.status(), f.message());
            assertEquals(List.of("p0", "p1", "p2"), f.pending());
            assertTrue(f.message().contains("not produced yet") && f.message().contains("p2 (cursor next="), f.message());
            assertEquals(0, f.objectsRead(), "no committed cursor range reaches record 500");
        }
    }

    @Test
    void findLocatesPackedDocumentsAcrossSamples() throws Exception {
        try (ObjectStore store = FileStore.open(dir.resolve("t"), true);
             TgbProducer p = TgbProducer.open(store, "t0", StreamConfig.of(W).withIndexSegmentSteps(8).withSnapshotInterval(4),
                     Streams.opts());
             SampleSource src = Sources.open("text:path=/usr/share/common-licenses", 256)) {
            SampleBatch b = new SampleBatch(256, 8);
            while (true) {
                b.clear();
                while (b.size() < 8 && src.next(b)) {
                    // one global batch
                }
                if (b.size() == 0) {
                    break;
                }
                p.append(b.shards(W, true), src.cursor());
            }
            p.commit();
            long steps = p.log().state().committedSteps();
            // The GPL-3 (a 35 kB document) spans many samples: find returns each of them, in order.
            long gpl = -1;
            Map<Long, Integer> samplesOf = new TreeMap<>();
            for (int step = 0; step < steps; step++) {
                StepLineage l = Lineage.blame(store, step);
                for (StepLineage.RankLineage r : l.ranks()) {
                    for (int i = 0; i < r.samples(); i++) {
                        for (long d = r.recordIds()[i]; d <= r.lastRecordIds()[i]; d += 1L << RecordIds.OFFSET_BITS) {
                            samplesOf.merge(d, 1, Integer::sum);
                        }
                    }
                }
            }
            for (Map.Entry<Long, Integer> d : samplesOf.entrySet()) {
                RecordSearch f = Lineage.find(store, d.getKey());
                assertEquals(d.getValue(), f.hits().size(), "document " + RecordIds.file(d.getKey()) + ": " + f.message());
                if (d.getValue() > 100) {
                    gpl = d.getKey();
                }
                assertTrue(f.objectsRead() <= (d.getValue() + 3) / 4 + 2, "read " + f.objectsRead() + " objects for "
                        + d.getValue() + " samples");
            }
            assertTrue(gpl >= 0, "a document spans more than 100 samples");
        }
    }

    @Test
    void afterGcRetainedStepsStillAnswerAndReclaimedOnesSaySo() throws Exception {
        try (ObjectStore store = synthetic(600, -1)) {
            long first = Lineage.blame(store, 0).ranks().get(0).recordIds()[0];
            Checkpoints.record(store, 10, "a");
            Checkpoints.record(store, 20, "b");
            ManifestLog log = ManifestLog.open(store);
            new GarbageCollector(log, 0).run(false);
            StepReclaimedException e = assertThrows(StepReclaimedException.class, () -> Lineage.blame(store, 9));
            assertEquals(10, e.reclaimedBelow());
            assertTrue(e.getMessage().contains("reclaimed by GC") && e.getMessage().contains("below step 10"), e.getMessage());
            StepLineage kept = Lineage.blame(store, 10);
            assertTrue(kept.ranks().get(0).recordIds().length > 0);
            long early = Streams.readRank(store, 0, W, 10, 11).get(0).ids()[0];
            RecordSearch f = Lineage.find(store, early);
            assertEquals(10, f.hits().get(0).step());
            assertEquals(10, f.searchedFrom());
            RecordSearch gone = Lineage.find(store, first);
            assertEquals("not_found", gone.status());
            assertTrue(gone.message().contains("reclaimed") && gone.message().contains("before step 10"), gone.message());
        }
    }
}
