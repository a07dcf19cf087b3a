package io.lakestream.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.dataset.Batch;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DJL adapter against DJL's real PyTorch engine (CPU, native library from the Maven jars). */
class LakestreamDatasetTest {
    static final int W = 2;
    static final int B = 3;
    static final int L = 8;
    static final NDManager manager = DjlStreams.manager();

    @TempDir
    Path dir;


    private ObjectStore produced(long records) {
        return DjlStreams.produce(dir.resolve("s"), W, B, L, records, false);
    }

    @Test
    void batchesCarryTheRanksTensorsInStepOrderAndResume() throws Exception {
        ObjectStore fs = produced(36); // 6 steps
        LakestreamDataset ds = LakestreamDataset.builder(fs, 1, W).data("tokens").labels("record_id").steps(4)
                .timeoutMillis(10_000).build();
        List<Long> ids = new ArrayList<>();
        long expectedStep = 0;
        for (Batch batch : ds.getData(manager)) {
            try (batch) {
                assertEquals(List.of(new SampleIndex(expectedStep, 3), new SampleIndex(expectedStep, 4), new SampleIndex(expectedStep, 5)),
                        batch.getIndices(), "rank 1 holds samples 3..5 of each step's global batch");
                assertEquals(expectedStep, ((LakestreamBatch) batch).step());
                NDArray tokens = batch.getData().get(0);
                NDArray rid = batch.getLabels().get(0);
                assertEquals(DataType.INT32, tokens.getDataType());
                assertArrayEquals(new long[] {B, L}, tokens.getShape().getShape());
                assertEquals(DataType.INT64, rid.getDataType());
                long[] r = rid.toLongArray();
                int[] t = tokens.toIntArray();
                for (int s = 0; s < B; s++) {
                    ids.add(r[s]);
                    for (int j = 0; j < L; j++) {
                        assertEquals(SyntheticSource.token(21, r[s], j), t[s * L + j], "token " + j + " of record " + r[s]);
                    }
                }
                expectedStep++;
            }
        }
        assertEquals(4, expectedStep);
        assertEquals(4, ds.nextStep());
        // rank 1 holds samples 3..5 of every global batch of 6
        assertEquals(List.of(3L, 4L, 5L, 9L, 10L, 11L, 15L, 16L, 17L, 21L, 22L, 23L), ids);

        // resume from the saved state: the next steps, then the end of the stream
        LakestreamDataset resumed = LakestreamDataset.builder(fs, 1, W).startStep(ds.nextStep()).timeoutMillis(500).build();
        List<Long> steps = new ArrayList<>();
        for (Batch batch : resumed.getData(manager)) {
            try (batch) {
                steps.add(((LakestreamBatch) batch).step());
            }
        }
        assertEquals(List.of(4L, 5L), steps);
    }

    @Test
    void arraysAliasPoolMemoryWithoutACopy() {
        ObjectStore fs = produced(12);
        AtomicReference<StepBatch> seen = new AtomicReference<>();
        LakestreamDataset.onStep = seen::set;
        try {
            try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).steps(1).build();
                 Batch batch = ds.getData(manager).iterator().next()) {
                StepBatch step = seen.get();
                // write through the pool memory; the engine's array must see it
                step.tensor("tokens").data().set(ValueLayout.JAVA_INT_UNALIGNED, 0, 1_234_567);
                assertEquals(1_234_567, batch.getData().get(0).toIntArray()[0], "the NDArray aliases the pool slab");
            }
            assertThrows(IllegalStateException.class, () -> seen.get().tensor("tokens").toIntArray(),
                    "closing the DJL batch released the step");
        } finally {
            LakestreamDataset.onStep = null;
        }
    }

    @Test
    void aStepThatNeverArrivesIsAClearTimeoutWhenAStepCountWasAsked() {
        ObjectStore fs = produced(6); // 1 step
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).steps(2).timeoutMillis(300).build()) {
            var it = ds.getData(manager).iterator();
            it.next().close();
            var e = assertThrows(io.lakestream.reader.ReaderTimeoutException.class, it::hasNext);
            assertEquals(1, e.step());
            assertFalse(e.committed());
        }
    }
}
