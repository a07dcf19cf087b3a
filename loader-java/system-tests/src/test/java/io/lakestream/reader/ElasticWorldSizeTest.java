package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.Streams;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stream written for W ranks read by W' ≠ W ranks: every sample of every step exactly once
 * across the W' ranks, in contiguous ranges, with the same bytes as the W-rank read; few bytes
 * beyond what is delivered; resumable from a checkpoint taken at W.
 */
class ElasticWorldSizeTest {
    static final int B = 8;
    static final int L = 2048; // 64 KiB of tokens per W-rank shard

    @TempDir
    Path dir;

    /** One rank's view of one step: tensor bytes (storage order), record ids, bytes fetched. */
    record RankStep(long step, int rank, long samples, byte[] tokens, long[] ids, long fetched, long delivered) {}

    private ObjectStore produce(String name, int w, long records, ProducerOptions opts) {
        ObjectStore store = FileStore.open(dir.resolve(name), true);
        try (TgbProducer p = Streams.produce(store, "p0", w, B, new SyntheticSource(records, 9, 0, 1, L), -1, opts)) {
            p.commit();
        }
        return store;
    }

    private static List<RankStep> read(ObjectStore store, int rank, int w, long from, long to, boolean elastic) {
        List<RankStep> out = new ArrayList<>();
        try (RankReader r = elastic ? RankReader.openElastic(store, rank, w, from, ReaderOptions.defaults())
                : RankReader.open(store, rank, w, from, ReaderOptions.defaults())) {
            for (long s = from; s < to; s++) {
                try (StepBatch b = r.next(30_000)) {
                    assertEquals(s, b.step());
                    Tensor t = b.tensor("tokens");
                    assertEquals(List.of("tokens", "record_id"), b.tensors().stream().map(Tensor::name).toList());
                    assertEquals(b.samples(), t.shape()[0]);
                    assertEquals(L, t.shape()[1]);
                    out.add(new RankStep(s, rank, b.samples(), t.data().toArray(ValueLayout.JAVA_BYTE), b.tensor("record_id").toLongArray(),
                            b.bytesFetched(), b.bytesDelivered()));
                }
            }
        }
        return out;
    }

    private static List<List<RankStep>> readAll(ObjectStore store, int w, long from, long to, boolean elastic) {
        List<List<RankStep>> all = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            all.add(read(store, r, w, from, to, elastic));
        }
        return all;
    }

    /** Per step: the ranks' tokens and ids concatenated in rank order. */
    private static List<byte[]> tokensByStep(List<List<RankStep>> all) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < all.get(0).size(); i++) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (List<RankStep> rank : all) {
                b.writeBytes(rank.get(i).tokens());
            }
            out.add(b.toByteArray());
        }
        return out;
    }

    private static List<long[]> idsByStep(List<List<RankStep>> all) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < all.get(0).size(); i++) {
            List<Long> ids = new ArrayList<>();
            for (List<RankStep> rank : all) {
                for (long id : rank.get(i).ids()) {
                    ids.add(id);
                }
            }
            out.add(ids.stream().mapToLong(Long::longValue).toArray());
        }
        return out;
    }

    /** Reads at W' elastically and checks coverage, bytes, split rule and (when asked) amplification. */
    private void assertElastic(ObjectStore store, int w, int w2, boolean checkAmplification) {
        long steps = ManifestLog.open(store, true).state().committedSteps();
        List<List<RankStep>> strict = readAll(store, w, 0, steps, false);
        List<List<RankStep>> elastic = readAll(store, w2, 0, steps, true);
        assertEquals(idsByStep(strict).size(), idsByStep(elastic).size());
        List<byte[]> want = tokensByStep(strict);
        List<byte[]> got = tokensByStep(elastic);
        List<long[]> wantIds = idsByStep(strict);
        List<long[]> gotIds = idsByStep(elastic);
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            assertArrayEquals(wantIds.get(s), gotIds.get(s), "step " + s + ": every sample exactly once, in order, across " + w2 + " ranks");
            assertArrayEquals(want.get(s), got.get(s), "step " + s + ": the same token bytes as the " + w + "-rank read");
            long n = wantIds.get(s).length;
            for (int r = 0; r < w2; r++) {
                RankStep rs = elastic.get(r).get(s);
                assertEquals(n / w2 + (r < n % w2 ? 1 : 0), rs.samples(), "split rule at step " + s + " rank " + r);
                if (checkAmplification && n == (long) w * B) {
                    worst = Math.max(worst, (double) rs.fetched() / rs.delivered());
                }
            }
        }
        if (checkAmplification) {
            System.out.printf("elastic %d -> %d: worst read amplification %.5f%n", w, w2, worst);
            assertTrue(worst > 1.0 && worst <= 1.01, w + "->" + w2 + ": read amplification " + worst + " must be <= 1.01");
        }
    }

    @Test
    void fourRanksReadAsTwoAsThreeAndAsEight() {
        try (ObjectStore store = produce("w4", 4, 4 * B * 6 + 13, Streams.opts())) { // 6 full steps and one of 13 samples
            assertElastic(store, 4, 2, true);
            assertElastic(store, 4, 3, false);
            assertElastic(store, 4, 8, true);
            assertElastic(store, 4, 1, true);
        }
    }

    @Test
    void twoRanksReadAsFourAndAsThree() {
        try (ObjectStore store = produce("w2", 2, 2 * B * 7 + 5, Streams.opts())) {
            assertElastic(store, 2, 4, true);
            assertElastic(store, 2, 3, false);
        }
    }

    @Test
    void lz4StreamsAreReadWholeAndSliced() {
        try (ObjectStore store = produce("lz4", 4, 4 * B * 3 + 7, Streams.lz4())) {
            assertElastic(store, 4, 3, false);
            assertElastic(store, 4, 8, false);
        }
    }

    @Test
    void whenTheNewWorldSizeDividesTheOldEachRankStepIsOneContiguousRead() {
        try (ObjectStore fs = produce("one-read", 4, 4 * B * 5, Streams.opts())) {
            CountingStore counting = new CountingStore(fs);
            for (int r = 0; r < 2; r++) {
                try (RankReader reader = RankReader.openElastic(counting, r, 2, 0, ReaderOptions.defaults())) {
                    for (int s = 0; s < 5; s++) {
                        try (StepBatch b = reader.next(30_000)) {
                            assertEquals(2 * B, b.samples());
                        }
                    }
                }
            }
            assertEquals(10, counting.rangedReads.get(), "2 ranks x 5 steps, one ranged read each");
        }
    }

    @Test
    void aCheckpointTakenAtFourRanksResumesAtThreeWithTheSameGlobalBatches() {
        try (ObjectStore store = produce("resume", 4, 4 * B * 8, Streams.opts())) {
            List<long[]> all = idsByStep(readAll(store, 4, 0, 8, false));
            long c = 5;
            List<long[]> before = all.subList(0, (int) c); // trained at W=4, then the checkpoint
            Checkpoints.record(store, c, "at-w4");
            List<List<RankStep>> after = readAll(store, 3, c, 8, true);
            List<long[]> afterIds = idsByStep(after);
            BitSet seen = new BitSet();
            for (long[] step : before) {
                for (long id : step) {
                    assertFalse(seen.get((int) id));
                    seen.set((int) id);
                }
            }
            for (int i = 0; i < afterIds.size(); i++) {
                assertArrayEquals(all.get((int) c + i), afterIds.get(i), "step " + (c + i) + " holds the same global batch at W'=3");
                for (long id : afterIds.get(i)) {
                    assertFalse(seen.get((int) id), "record " + id + " twice across the resize");
                    seen.set((int) id);
                }
            }
            assertEquals(4 * B * 8, seen.cardinality(), "every record exactly once across the resize");
        }
    }

    @Test
    void ranksBeyondASmallBatchGetEmptyTensors() {
        try (ObjectStore store = produce("small", 2, 3, Streams.opts())) { // one step of 3 samples
            List<List<RankStep>> all = readAll(store, 8, 0, 1, true);
            for (int r = 0; r < 8; r++) {
                assertEquals(r < 3 ? 1 : 0, all.get(r).get(0).samples(), "rank " + r);
            }
            assertArrayEquals(new long[] {0, 1, 2}, idsByStep(all).get(0));
        }
    }

    @Test
    void strictIsTheDefaultAndNamesTheElasticWay() {
        try (ObjectStore store = produce("strict", 2, 40, Streams.opts())) {
            WorldSizeMismatchException e = assertThrows(WorldSizeMismatchException.class,
                    () -> RankReader.open(store, 0, 3, 0, ReaderOptions.defaults()));
            assertTrue(e.getMessage().contains("world size 2") && e.getMessage().contains("elastic"), e.getMessage());
            try (RankReader same = RankReader.openElastic(store, 1, 2, 0, ReaderOptions.defaults())) {
                assertFalse(same.elastic(), "an elastic reader at the stream's own world size is the plain reader");
            }
        }
    }

    @Test
    void corruptRowsAndHeadersOfAPartialReadAreCaught() throws Exception {
        Path streamDir = dir.resolve("corrupt");
        try (ObjectStore store = produce("corrupt", 4, 4 * B * 4, Streams.opts())) {
            TgbEntry e = ManifestLog.open(store, true).entry(2);
            ShardEntry shard1 = e.shards().get(1);
            // Flip a byte in sample 3 of shard 1's tokens: global sample 8 + 3, rank 2 of 8 reads samples [8, 12).
            flip(streamDir.resolve(e.object()), shard1.offset() + shard1.headerLength() + 3L * L * 4 + 5);
            try (RankReader r = RankReader.openElastic(store, 2, 8, 2, ReaderOptions.defaults())) {
                ChecksumMismatchException x = assertThrows(ChecksumMismatchException.class, () -> r.next(30_000).close());
                assertTrue(x.getMessage().contains("step 2") && x.getMessage().contains("sample 3") && x.getMessage().contains(e.object()),
                        x.getMessage());
            }
            try (RankReader r = RankReader.openElastic(store, 3, 8, 2, ReaderOptions.defaults())) {
                r.next(30_000).close(); // samples [12, 16): the other half of shard 1 is intact
            }
            TgbEntry e3 = ManifestLog.open(store, true).entry(3);
            ShardEntry h = e3.shards().get(2);
            flip(streamDir.resolve(e3.object()), h.offset() + 20); // inside shard 2's tensor header
            try (RankReader r = RankReader.openElastic(store, 4, 8, 3, ReaderOptions.defaults())) {
                ChecksumMismatchException x = assertThrows(ChecksumMismatchException.class, () -> r.next(30_000).close());
                assertTrue(x.getMessage().contains("tensor header") && x.getMessage().contains("step 3"), x.getMessage());
            }
        }
    }

    private static void flip(Path file, long at) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
    }
}
