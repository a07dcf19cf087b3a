package io.lakestream.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.Snapshot;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GC deletes every index segment whose steps all lie below {@code reclaimed_below_step}, also the
 * segments a byte bound closed early (format version 2), which GC once judged by the multiple of
 * {@code index_segment_steps} alone and so kept for ever (a storage leak).
 */
class SegmentGcTest {
    @TempDir
    Path dir;

    /**
     * Creates the stream with {@code cfg} and appends {@code batches} global batches of one rank
     * (two records each, cursor "next=N"), one batch per commit and written inline: a log version
     * per step, so snapshots and index segments fall where {@code cfg}'s intervals put them.
     */
    private static void produce(FileStore fs, StreamConfig cfg, int batches) {
        SyntheticSource src = new SyntheticSource(1_000, 1, 0, 1, 4);
        try (TgbProducer p = TgbProducer.open(fs, "p", cfg, ProducerOptions.defaults().withGroup(1, 1, false).withWriteParallelism(0))) {
            for (int i = 0; i < batches; i++) {
                p.append(src.globalBatch(src.take(2L * i, 2), 1), "next=" + (2 * i + 2));
            }
        }
    }

    /** Segments left whose every step (read from the segment itself) is below {@code reclaimed}. */
    private static List<String> segmentsWhollyBelow(FileStore fs, long reclaimed) {
        List<String> below = new ArrayList<>();
        for (ObjectInfo o : fs.list(StreamLayout.INDEX_PREFIX, null, Integer.MAX_VALUE)) {
            Snapshot.SegmentFile f = Json.read(fs.get(o.key()), Snapshot.SegmentFile.class, o.key());
            if (f.firstStep() + f.tgbs().size() <= reclaimed) {
                below.add(o.key() + " [" + f.firstStep() + ", " + (f.firstStep() + f.tgbs().size()) + ")");
            }
        }
        return below;
    }

    /**
     * Defence in depth (issue 22, hole 6b): index segments are not checked against producer states
     * (only versions and snapshot tails are), so a tampered segment can make a step above the floor
     * name a step below it's object. GC must still not delete what a step at or above the floor names.
     */
    @Test
    void gcNeverDeletesAnObjectAStepAboveTheFloorNamesEvenFromATamperedSegment() {
        FileStore fs = FileStore.open(dir.resolve("t"), true);
        io.lakestream.testkit.Streams.produce(fs, "p", 2, 2, new SyntheticSource(160, 4, 0, 1, 8), -1,
                io.lakestream.testkit.Streams.opts().withGroup(1, 1, false)).close(); // 40 steps, one per version: segments of 16
        String seg = StreamLayout.segmentKey(0);
        Snapshot.SegmentFile f = Json.read(fs.get(seg), Snapshot.SegmentFile.class, seg);
        List<io.lakestream.log.TgbEntry> tampered = new ArrayList<>(f.tgbs());
        tampered.set(10, tampered.get(0)); // step 10 (above the floor below) names step 0's object
        fs.put(seg, Json.write(new Snapshot.SegmentFile(0, tampered)));
        ManifestLog log = ManifestLog.open(fs);
        String shared = log.entry(0).object();
        assertEquals(shared, log.entry(10).object());
        Checkpoints.record(log, 5, "ck5"); // floor 5
        GcReport r = new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(4, r.batchObjects(), "steps 1..4 only");
        assertTrue(fs.stat(shared).isPresent(), "GC deleted " + shared + ", which step 10 (above the floor) names");
    }

    /**
     * The mark exactly at a segment's end: segment [4, 8) holds no step at or above 8, so GC of
     * reclaimed_below_step 8 deletes it with [0, 4); [8, 12) holds step 8 and stays.
     */
    @Test
    void aSegmentEndingExactlyAtTheReclaimedMarkIsDeleted() {
        FileStore fs = FileStore.open(dir.resolve("exact"), true);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withIndexSegmentSteps(4).withIndexSegmentBytes(0)
                .withRetention(1, 0);
        produce(fs, cfg, 14);
        assertTrue(fs.stat(StreamLayout.segmentKey(8)).isPresent(), "segments [0, 4), [4, 8), [8, 12) were written");
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 8, "ck8");
        new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(8, ManifestLog.open(fs).state().reclaimedBelowStep());
        assertEquals(false, fs.stat(StreamLayout.segmentKey(0)).isPresent(), "[0, 4) is below the mark");
        assertEquals(false, fs.stat(StreamLayout.segmentKey(4)).isPresent(), "[4, 8) ends exactly at the mark: below it");
        assertTrue(fs.stat(StreamLayout.segmentKey(8)).isPresent(), "[8, 12) holds step 8, at the mark");
        ManifestLog fresh = ManifestLog.open(fs);
        for (long s = 8; s < 14; s++) {
            assertEquals("p", fresh.entry(s).producer(), "step " + s);
        }
    }

    /**
     * The overflow guard of a segment's end: a segment listed at a first step within
     * index_segment_steps of Long.MAX_VALUE (no log gets there: a stray or foreign object) ends at
     * Long.MAX_VALUE, not at {@code first / n * n + n}, which overflows to a negative end that
     * every reclaimed mark is above. None of its steps is below the mark, so GC leaves it.
     */
    @Test
    void aSegmentKeyedNearTheLastPossibleStepIsNotBelowTheMark() {
        FileStore fs = FileStore.open(dir.resolve("far"), true);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withIndexSegmentSteps(4).withIndexSegmentBytes(0)
                .withRetention(1, 0);
        produce(fs, cfg, 10);
        // (MAX - 1) / 4 * 4 = MAX - 3, above MAX - 4: the guard's case
        String far = StreamLayout.segmentKey(Long.MAX_VALUE - 1);
        fs.put(far, fs.get(StreamLayout.segmentKey(0)));
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 8, "ck8");
        new GarbageCollector(log, 3_600_000).run(false);
        assertEquals(8, ManifestLog.open(fs).state().reclaimedBelowStep());
        assertEquals(false, fs.stat(StreamLayout.segmentKey(4)).isPresent(), "GC did reclaim segments: [4, 8) is below the mark");
        assertTrue(fs.stat(far).isPresent(), "GC deleted " + far + ", whose steps are all above the mark");
    }

    @Test
    void noSegmentWhollyBelowTheReclaimedMarkSurvivesGc() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        // segments of at most 16 steps or ~1 KiB: with one rank an entry is ~250 bytes, so segments close early
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withIndexSegmentSteps(16).withIndexSegmentBytes(1024)
                .withRetention(1, 0);
        produce(fs, cfg, 60);
        ManifestLog log = ManifestLog.open(fs);
        assertTrue(log.state().indexSplits().size() > 2, "the byte bound split segments: " + log.state().indexSplits());
        for (long ck : new long[] {37, 50}) {
            Checkpoints.record(log, ck, "ck" + ck);
            new GarbageCollector(log, 3_600_000).run(false);
            long reclaimed = ManifestLog.open(fs).state().reclaimedBelowStep();
            assertEquals(ck, reclaimed);
            assertEquals(List.of(), segmentsWhollyBelow(fs, reclaimed), "segments wholly below reclaimed_below_step " + reclaimed);
        }
        // and the steps from the floor on still read through the segments that are left
        ManifestLog fresh = ManifestLog.open(fs);
        for (long s = 50; s < 60; s++) {
            assertEquals("p", fresh.entry(s).producer());
        }
    }
}
