package io.lakestream.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import io.lakestream.store.ObjectStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16 items 2, 3 and 8: readers are released however a loop ends, one position per dataset, no skipped step. */
class DatasetLifecycleTest {
    static final int W = 2;
    static final int B = 3;
    static final int L = 8;
    /** One reader: a dispatcher and prefetch (4) fetch threads. */
    static final int ONE_READER = 5;
    static final NDManager manager = DjlStreams.manager();

    @TempDir
    Path dir;


    private ObjectStore stream(long records) {
        return DjlStreams.produce(dir.resolve("s"), W, B, L, records, false);
    }

    private static long step(Batch b) {
        return ((LakestreamBatch) b).step();
    }

    @Test
    void loopsLeftEarlyDoNotLeakReaders() throws Exception {
        ObjectStore fs = stream(120); // 20 steps
        int baseline = DjlStreams.awaitReaderThreadsAtMost(0, true);
        List<Long> seen = new ArrayList<>();
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).timeoutMillis(60_000).build()) {
            for (int i = 0; i < 4; i++) {
                for (Batch b : ds.getData(manager)) {
                    seen.add(step(b));
                    b.close();
                    break; // the iterator is left open: the next one must release its reader
                }
                assertTrue(DjlStreams.awaitReaderThreadsAtMost(baseline + ONE_READER, false) <= baseline + ONE_READER,
                        "after " + (i + 1) + " abandoned loops only the newest reader may be alive: " + DjlStreams.readerThreads());
            }
            // an exception inside the loop (as in EasyTrain) leaves the iterator the same way
            assertThrows(ArithmeticException.class, () -> {
                for (Batch b : ds.getData(manager)) {
                    try (b) {
                        seen.add(step(b));
                        throw new ArithmeticException("loss is NaN");
                    }
                }
            });
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), seen, "each new loop continues the stream: nothing twice, nothing skipped");
            assertEquals(5, ds.nextStep());
        }
        assertEquals(baseline, DjlStreams.awaitReaderThreadsAtMost(baseline, false), "closing the dataset released every reader");
    }

    private static long takeOneAndDropTheIterator(LakestreamDataset ds) {
        Iterator<Batch> it = ds.getData(manager).iterator();
        try (Batch b = it.next()) {
            return step(b);
        }
    }

    @Test
    void anIteratorThatBecomesGarbageReleasesItsReader() throws Exception {
        ObjectStore fs = stream(60);
        int baseline = DjlStreams.awaitReaderThreadsAtMost(0, true);
        LakestreamDataset ds = LakestreamDataset.builder(fs, 1, W).timeoutMillis(60_000).build();
        assertEquals(0, takeOneAndDropTheIterator(ds));
        assertTrue(DjlStreams.readerThreads() > baseline, "the dropped iterator's reader was running");
        // never closed by the program: the cleaner must release it once the iterator is unreachable
        assertEquals(baseline, DjlStreams.awaitReaderThreadsAtMost(baseline, true));
        assertEquals(1, takeOneAndDropTheIterator(ds), "the dataset goes on from its position");
        ds.close();
    }

    @Test
    void aNewIteratorSupersedesTheOldOneInsteadOfDeliveringStepsTwice() {
        ObjectStore fs = stream(60); // 10 steps
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).timeoutMillis(60_000).build()) {
            Iterable<Batch> data = ds.getData(manager);
            Iterator<Batch> a = data.iterator();
            List<Long> seen = new ArrayList<>();
            try (Batch b = a.next()) {
                seen.add(step(b));
            }
            assertTrue(a.hasNext()); // a has already fetched step 1
            Iterator<Batch> b = data.iterator();
            for (int i = 0; i < 3; i++) {
                try (Batch x = b.next()) {
                    seen.add(step(x));
                }
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, a::hasNext);
            assertTrue(e.getMessage().contains("a newer iterator of this dataset was started"), e.getMessage());
            assertThrows(IllegalStateException.class, a::next);
            assertEquals(List.of(0L, 1L, 2L, 3L), seen, "the step a had fetched but not delivered is delivered by b, once");
        }
    }

    @Test
    void epochsContinueTheStream() {
        ObjectStore fs = stream(60); // 10 steps
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).steps(4).build()) {
            List<List<Long>> epochs = new ArrayList<>();
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Long> steps = new ArrayList<>();
                for (Batch b : ds.getData(manager)) {
                    try (b) {
                        steps.add(step(b));
                    }
                }
                epochs.add(steps);
            }
            assertEquals(List.of(List.of(0L, 1L, 2L, 3L), List.of(4L, 5L, 6L, 7L)), epochs);
        }
    }

    @Test
    void aStepThatFailsIsNeitherSkippedNorRetriedSilently() throws Exception {
        ObjectStore fs = stream(30);
        int baseline = DjlStreams.awaitReaderThreadsAtMost(0, true);
        try (LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W)
                .addTransform(t -> {
                    throw new IllegalArgumentException("this step cannot be transformed");
                }).build()) {
            Iterator<Batch> it = ds.getData(manager).iterator();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, it::next);
            assertTrue(e.getMessage().contains("this step cannot be transformed"), e.getMessage());
            IllegalStateException again = assertThrows(IllegalStateException.class, it::hasNext);
            assertTrue(again.getMessage().contains("stopped at step 0"), again.getMessage());
            assertEquals(0, ds.nextStep(), "the failed step is still the next one");
            assertEquals(baseline, DjlStreams.awaitReaderThreadsAtMost(baseline, false), "a failed iterator releases its reader");
            assertThrows(IllegalArgumentException.class, () -> ds.getData(manager).iterator().next(),
                    "a new iterator retries step 0 rather than moving on");
        }
    }

    @Test
    void aClosedDatasetRefusesNewIterationsAndStopsTheCurrentOne() throws Exception {
        ObjectStore fs = stream(30);
        int baseline = DjlStreams.awaitReaderThreadsAtMost(0, true);
        LakestreamDataset ds = LakestreamDataset.builder(fs, 0, W).build();
        Iterator<Batch> it = ds.getData(manager).iterator();
        it.next().close();
        ds.close();
        ds.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, it::hasNext);
        assertTrue(e.getMessage().contains("the dataset was closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> ds.getData(manager));
        assertEquals(baseline, DjlStreams.awaitReaderThreadsAtMost(baseline, false));
    }
}
