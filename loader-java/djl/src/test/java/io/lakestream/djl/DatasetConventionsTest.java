package io.lakestream.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.BatchSampler;
import ai.djl.training.dataset.SequenceSampler;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.lakestream.djl.examples.TrainAndResume;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.reader.PoolExhaustedException;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StreamNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16 items 1, 4, 6, 7, 9, 10 and 11: DJL's conventions where a stream allows them, and a
 * clear error where it does not.
 */
class DatasetConventionsTest {
    static final int W = 2;
    static final int B = 3;
    static final int L = 16;
    /** A timeout no test may wait out: only an end of stream or an error can end these waits. */
    static final long PATIENT_MS = 600_000;
    static final NDManager manager = DjlStreams.manager();

    @TempDir
    Path dir;


    private ObjectStore stream(int w, long records, boolean close) {
        return DjlStreams.produce(dir.resolve("s"), w, B, L, records, close);
    }

    /** Item 6 and 3: EasyTrain with the default labels, two epochs continuing the stream, progress in samples. */
    @Test
    void easyTrainFitsWithDefaultLabelsAndEpochsContinueTheStream() throws Exception {
        ObjectStore fs = stream(1, 30, false); // 10 steps of 3 samples
        List<long[]> progress = new ArrayList<>();
        try (Model model = TrainAndResume.model(L);
             LakestreamDataset ds = TrainAndResume.dataset(fs).steps(4).optDevice(Device.cpu()).build()) {
            TrainingListener record = new TrainingListenerAdapter() {
                @Override
                public void onTrainingBatch(Trainer t, TrainingListener.BatchData d) {
                    LakestreamBatch b = (LakestreamBatch) d.getBatch();
                    progress.add(new long[] {b.step(), b.getProgress(), b.getProgressTotal()});
                }
            };
            try (Trainer trainer = TrainAndResume.trainer(model, L, record)) {
                EasyTrain.fit(trainer, 2, ds, null);
            }
            assertEquals(8, ds.nextStep(), "two epochs of steps(4): steps 0-3, then 4-7");
        }
        assertEquals(8, progress.size());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(new long[] {i, (i % 4 + 1) * 3L, 12}, progress.get(i), "step, samples so far this epoch, samples in it");
        }
    }

    /** Item 7: a closed stream ends each epoch at once, and its size is known. */
    @Test
    void theEndOfAClosedStreamEndsTheEpochAtOnce() {
        ObjectStore fs = stream(W, 32, true); // 5 full steps of 6 and one of 2: rank 1 gets 3,3,3,3,3,1
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 1, W).timeoutMillis(PATIENT_MS).build()) {
            assertEquals(6, ds.endStep());
            assertEquals(16, ds.size(), "samples rank 1 receives to the end");
            List<Batch> seen = new ArrayList<>();
            for (Batch b : ds.getData(manager)) {
                try (b) {
                    seen.add(b);
                }
            }
            assertEquals(6, seen.size());
            assertEquals(16, seen.get(5).getProgress());
            assertEquals(16, seen.get(5).getProgressTotal());
            assertEquals(List.of(new SampleIndex(5, 1)), seen.get(5).getIndices(), "the final partial step: one sample each");
            assertEquals(0, ds.size());
            // The next epoch has no step: an error at once (an empty epoch would be a NaN loss in DJL).
            assertThrows(io.lakestream.reader.EndOfStreamException.class, () -> ds.getData(manager).iterator().hasNext());
        }
    }

    /** Item 7/11: per-sample indices, and size() only where the stream knows it. */
    @Test
    void indicesNameEachSampleAndSizeIsKnownOnlyWhereTheStreamKnowsIt() {
        ObjectStore fs = stream(W, 36, false); // 6 steps, open
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 1, W).steps(4).build();
             LakestreamDataset open = LakestreamDataset.builder(fs, 0, W).timeoutMillis(200).build();
             LakestreamDataset ahead = LakestreamDataset.builder(fs, 0, W).startStep(4).steps(4).timeoutMillis(200).build()) {
            assertEquals(12, ds.size());
            assertEquals(-1, open.size(), "an open stream without a step count has no known size");
            assertEquals(-1, ahead.size(), "steps 6 and 7 are not produced yet");
            try (Batch b = ds.getData(manager).iterator().next()) {
                assertEquals(List.of(new SampleIndex(0, 3), new SampleIndex(0, 4), new SampleIndex(0, 5)), b.getIndices());
                assertEquals(3, b.getSize());
            }
            try (Batch b = open.getData(manager).iterator().next()) {
                assertEquals(-1, b.getProgressTotal());
            }
            try (Batch b = ahead.getData(manager).iterator().next()) {
                assertEquals(12, b.getProgressTotal(), "estimated from the first batch: 4 steps of 3");
            }
        }
    }

    /** Item 9 and 10: what is wrong is said by build(), before any training starts. */
    @Test
    void buildChecksTheSettingsAgainstTheStream() throws Exception {
        ObjectStore fs = stream(W, 36, false);
        WorldSizeMismatchException ws = assertThrows(WorldSizeMismatchException.class, () -> LakestreamDataset.builder(fs, 0, 4).build());
        assertTrue(ws.getMessage().contains("world size 2"), ws.getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 2, W).build());
        assertTrue(e.getMessage().contains("rank 2 is outside world size 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 0, W).steps(0).build());
        assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 0, W).data().build());
        e = assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 0, W).setSampling(4, false).build());
        assertTrue(e.getMessage().contains("step 0 gives rank 0 3 samples"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 0, W).setSampling(3, true));
        assertTrue(e.getMessage().contains("shuffle records when producing"), e.getMessage());
        LakestreamDataset.builder(fs, 0, W).setSampling(3, false).build().close();

        Path typo = dir.resolve("strem");
        StreamNotFoundException missing = assertThrows(StreamNotFoundException.class,
                () -> LakestreamDataset.builder("file://" + typo, 0, W).build());
        assertTrue(missing.getMessage().contains("file://" + typo) && missing.getMessage().contains("does not exist"),
                missing.getMessage());
        assertFalse(Files.exists(typo), "a reader never creates a directory for a mistyped path");
        StreamNotFoundException noStream = assertThrows(StreamNotFoundException.class,
                () -> LakestreamDataset.builder("file://" + dir, 0, W).build());
        assertTrue(noStream.getMessage().contains("no Lakestream stream at"), noStream.getMessage());

        io.lakestream.log.StreamEnd.close(fs);
        e = assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(fs, 0, W).startStep(9).build());
        assertTrue(e.getMessage().contains("closed at step 6"), e.getMessage());
    }

    /** Item 11: DJL's overloads resolve to something that works or says why not. */
    @Test
    void samplersAreRefusedAndTheExecutorOverloadWorks() {
        ObjectStore fs = stream(W, 12, true);
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).build()) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> ds.getData(manager, new BatchSampler(new SequenceSampler(), 3)));
            assertTrue(e.getMessage().contains("samplers do not apply"), e.getMessage());
            int n = 0;
            for (Batch b : ds.getData(manager, (ExecutorService) null)) {
                b.close();
                n++;
            }
            assertEquals(2, n);
        }
    }

    /** Item 1: forgotten batches exhaust the pool, and the error says so instead of ending the epoch as if idle. */
    @Test
    void unclosedBatchesExhaustThePoolAndTheErrorSaysSo() {
        ObjectStore fs = stream(W, 120, false); // 20 steps, all committed
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).timeoutMillis(2_000)
                .readerOptions(ReaderOptions.defaults().withPrefetch(1)).build()) {
            List<Batch> forgotten = new ArrayList<>();
            Iterator<Batch> it = ds.getData(manager).iterator();
            PoolExhaustedException e = assertThrows(PoolExhaustedException.class, () -> {
                while (it.hasNext()) {
                    forgotten.add(it.next()); // never closed
                }
            });
            assertTrue(forgotten.size() < 20);
            assertEquals(forgotten.size(), e.step());
            assertEquals(forgotten.size(), e.heldSteps().size());
            assertTrue(e.getMessage().contains("batches the consumer has not closed") && e.getMessage().contains("DJL: Batch.close()"),
                    e.getMessage());
            forgotten.forEach(Batch::close);
            // the step that could not be fetched is the next one, for the next epoch
            assertEquals(forgotten.size(), ds.nextStep());
            try (Batch b = ds.getData(manager).iterator().next()) {
                assertEquals(e.step(), ((LakestreamBatch) b).step());
            }
        }
    }

    /** Item 4: an array kept past its batch never sees reused or freed memory. */
    @Test
    void aDetachedViewFailsLoudlyAndItsMemoryIsNeverReused() {
        ObjectStore fs = stream(W, 120, false); // 20 steps
        NDArray kept;
        int[] before;
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).labels("record_id")
                .readerOptions(ReaderOptions.defaults().withPrefetch(1)).build()) { // 4 slabs: reuse comes fast
            Iterator<Batch> it = ds.getData(manager).iterator();
            Batch first = it.next();
            kept = first.getData().get(0);
            kept.detach();
            before = kept.toIntArray();
            assertEquals(SyntheticSource.token(DjlStreams.SEED, 0, 0), before[0]);
            IllegalStateException e = assertThrows(IllegalStateException.class, first::close);
            assertTrue(e.getMessage().contains("array 'tokens' of step 0 (rank 0) was detached from the batch"), e.getMessage());
            for (int i = 0; i < 10; i++) {
                it.next().close(); // ten more steps through a 4-slab pool
            }
            assertArrayEquals(before, kept.toIntArray(), "the kept array's memory was not handed to a later step");
        }
        assertArrayEquals(before, kept.toIntArray(), "nor freed when the reader closed");
        kept.close();
    }

    @Test
    void copiedArraysMayBeKeptFreely() {
        ObjectStore fs = stream(W, 60, false);
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).labels("record_id").optCopyArrays(true)
                .readerOptions(ReaderOptions.defaults().withPrefetch(1)).build()) {
            Iterator<Batch> it = ds.getData(manager).iterator();
            Batch first = it.next();
            assertEquals(DataType.INT64, first.getLabels().get(0).getDataType());
            NDArray kept = first.getData().get(0);
            kept.detach();
            first.close(); // a copy: nothing to report
            int[] before = kept.toIntArray();
            for (int i = 0; i < 8; i++) {
                it.next().close();
            }
            assertArrayEquals(before, kept.toIntArray());
            assertEquals(DataType.INT32, kept.getDataType());
            kept.close();
        }
    }
}
