package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.memory.NativeShims;
import io.lakestream.memory.Pinner;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.FileStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A reader on a file:// stream delivers tensors that are views on pinned pool slabs. */
class ReaderMemoryPathTest {
    private static final int WORLD = 2;
    private static final int STEPS = 12;
    private static final int SAMPLES = 8;
    private static final int SEQ = 64;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Codec.class)
    void tensorsAreSlicesOfPooledPinnedSlabs(Codec codec) throws Exception {
        FileStore store = FileStore.open(dir, true);
        write(store, codec);
        Pinner.Mode expected = NativeShims.get().map(NativeShims::preferredMode).orElse(Pinner.Mode.NONE);
        try (PinnedPool pool = new PinnedPool(256 * 1024, 6, Pinners.defaultPinner());
             RankReader reader = RankReader.open(store, 1, WORLD, 0, ReaderOptions.defaults().withPrefetch(2), pool)) {
            Set<Long> slabAddresses = new HashSet<>();
            List<Tensor> stale = new ArrayList<>();
            for (int step = 0; step < STEPS; step++) {
                try (StepBatch b = reader.next(10_000)) {
                    assertEquals(step, b.step());
                    MemorySegment slab = b.lease().segment();
                    slabAddresses.add(slab.address());
                    assertEquals(expected, b.lease().pinMode());
                    for (Tensor t : b.tensors()) {
                        long a = t.data().address();
                        assertTrue(a >= slab.address() && a + t.data().byteSize() <= slab.address() + slab.byteSize(),
                                t + " lies outside its pool slab");
                    }
                    long[] ids = b.tensor("record_id").toLongArray();
                    long[] want = new long[SAMPLES];
                    for (int i = 0; i < SAMPLES; i++) {
                        want[i] = recordId(step, 1, i);
                    }
                    assertArrayEquals(want, ids);
                    Tensor tokens = b.tensor("tokens");
                    assertEquals(DType.I32, tokens.dtype());
                    assertArrayEquals(new long[] {SAMPLES, SEQ}, tokens.shape());
                    assertEquals(token(want[3], 5), tokens.data().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 3L * SEQ + 5));
                    if (codec == Codec.NONE) {
                        // Only the tensor header (names, shapes, per-sample CRCs: ~280 bytes here) on top of 2,112 data bytes.
                        assertEquals(1.0, (double) b.bytesFetched() / b.bytesDelivered(), 0.15, "read amplification");
                    }
                    stale.add(tokens);
                }
            }
            // Bounded: prefetch 2 keeps a handful of slabs in rotation, pinned once each.
            assertTrue(pool.slabCount() <= 6, "slabs " + pool.slabCount());
            assertTrue(slabAddresses.size() <= pool.slabCount());
            assertEquals(expected, pool.pinMode());
            // Use after release: an exception, never bytes of a later step.
            for (Tensor t : stale) {
                assertThrows(IllegalStateException.class, () -> t.data().get(ValueLayout.JAVA_INT_UNALIGNED, 0));
                assertThrows(IllegalStateException.class, t::toIntArray);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Codec.class)
    void readersOwnPoolUsesTheDefaultPinner(Codec codec) throws Exception {
        FileStore store = FileStore.open(dir, true);
        write(store, codec);
        Pinner.Mode expected = NativeShims.get().map(NativeShims::preferredMode).orElse(Pinner.Mode.NONE);
        try (RankReader reader = RankReader.open(store, 0, WORLD, 3, ReaderOptions.defaults())) {
            StepBatch b = reader.next(10_000);
            assertEquals(3, b.step());
            assertEquals(expected, b.lease().pinMode());
            MemorySegment bytes = b.tensorBytes();
            b.close();
            assertThrows(IllegalStateException.class, () -> bytes.get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @Test
    void uncheckedViewsAreThePoolsSlabsAndOutliveTheBatch() throws Exception {
        FileStore store = FileStore.open(dir, true);
        write(store, Codec.NONE);
        ReaderOptions unchecked = ReaderOptions.defaults().withPrefetch(1).withCheckedViews(false);
        assertTrue(ReaderOptions.defaults().checkedViews(), "checked views stay the default");
        try (RankReader reader = RankReader.open(store, 0, WORLD, 0, unchecked)) {
            StepBatch b = reader.next(10_000);
            assertFalse(b.lease().checked());
            Tensor ids = b.tensor("record_id");
            long first = ids.data().get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
            assertEquals(recordId(0, 0, 0), first);
            MemorySegment data = ids.data();
            b.close();
            // No scope closed with the batch: the view still reads the slab, which a fetch may already
            // be filling with a later step (what the option trades away), so only the read itself is checked.
            assertTrue(data.scope().isAlive());
            data.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
            try (StepBatch next = reader.next(10_000)) {
                assertEquals(1, next.step());
                assertEquals(recordId(1, 0, 0), next.tensor("record_id").data().get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
            }
        }
    }

    private static long recordId(int step, int rank, int i) {
        return ((long) step * WORLD + rank) * SAMPLES + i;
    }

    private static int token(long record, int j) {
        return (int) ((record * 131 + j * 7) % 50257);
    }

    private static void write(FileStore store, Codec codec) {
        try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(WORLD), ProducerOptions.defaults().withCodec(codec))) {
            for (int step = 0; step < STEPS; step++) {
                List<Map<String, TensorData>> shards = new ArrayList<>();
                for (int r = 0; r < WORLD; r++) {
                    long[] ids = new long[SAMPLES];
                    int[] tokens = new int[SAMPLES * SEQ];
                    for (int i = 0; i < SAMPLES; i++) {
                        ids[i] = recordId(step, r, i);
                        for (int j = 0; j < SEQ; j++) {
                            tokens[i * SEQ + j] = token(ids[i], j);
                        }
                    }
                    Map<String, TensorData> shard = new LinkedHashMap<>();
                    shard.put("tokens", TensorData.ofInts(tokens, SAMPLES, SEQ));
                    shard.put("record_id", TensorData.ofLongs(ids, SAMPLES));
                    shards.add(shard);
                }
                p.append(shards, "next=" + (step + 1));
            }
            p.commit();
        }
    }
}
