package io.lakestream.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.lakestream.djl.examples.TrainAndResume;
import io.lakestream.retention.Checkpoints;
import io.lakestream.store.ObjectStores;
import io.lakestream.reader.EndOfStreamException;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 26 (a DJL user's first hour): the README's snippet trains as written, mistakes fail at
 * {@code build()}, a finished stream never yields a silent empty epoch, and errors name the
 * stream and the dataset's current position.
 */
class FirstHourTest {
    static final int L = 16;
    static final NDManager manager = DjlStreams.manager();

    @TempDir
    Path dir;

    /**
     * The loop of docs/java.md: default labels (the untransformed 'tokens' views), a data transform
     * only. EasyTrain.trainBatch's Batch.split moves the labels to a sub-manager of the batch:
     * not a detach, so closing the batch must not throw.
     */
    @Test
    void theReadmeSnippetTrainsAsWritten() throws Exception {
        DjlStreams.produce(dir.resolve("s"), 1, 3, L, 30, true).close(); // 10 steps, closed
        String uri = "file://" + dir.resolve("s");
        int rank = 0;
        int worldSize = 1;
        Path dir = this.dir.resolve("model");
        List<Long> trained = new ArrayList<>();
        TrainingListener record = new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer t, TrainingListener.BatchData d) {
                trained.add(((LakestreamBatch) d.getBatch()).step());
            }
        };
        try (Model model = TrainAndResume.model(L); Trainer trainer = TrainAndResume.trainer(model, L, record)) {
            // The loop of docs/java.md, verbatim (the doc-tests compare them).
            try (LakestreamDataset ds = LakestreamDataset.builder(uri, rank, worldSize)    // e.g. "file:///data/stream"
                    .data("tokens")                                   // labels default to the data tensors
                    .addTransform(t -> t.toType(DataType.FLOAT32, false))
                    .startStep(model.longProperty("lakestream.next_step", 0))  // after model.load(dir); 0 on a fresh start
                    .build()) {                                       // checks rank, world size, floor, end, names, device now
                for (Batch batch : trainer.iterateDataset(ds)) {      // one epoch
                    try (batch) {                                     // closing the batch releases its pool slab
                        EasyTrain.trainBatch(trainer, batch);
                        trainer.step();
                    }
                }
                model.setProperty("lakestream.next_step", Long.toString(ds.nextStep()));
                model.save(dir, "mlp");
                try (ObjectStore store = ObjectStores.open(uri, false)) {  // the checkpoint is durable: record it
                    Checkpoints.record(store, ds.nextStep(), "ckpt-" + ds.nextStep());
                }
            }
        }
        try (ObjectStore s = ObjectStores.open(uri, false)) {
            assertEquals(10, io.lakestream.log.ManifestLog.open(s, true).state().checkpoints().getLast().step(),
                    "the checkpoint of the snippet is recorded at the dataset's position");
        }
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), trained);
    }

    /** Integer labels that DJL's split leaves in place are not detached either (batch.close() with no error). */
    @Test
    void splitUntransformedLabelsAreStillOwnedByTheBatch() {
        ObjectStore store = DjlStreams.produce(dir.resolve("s"), 1, 3, L, 9, true);
        try (LakestreamDataset ds = LakestreamDataset.builder(store, 0, 1).labels("record_id").build()) {
            for (Batch batch : ds.getData(manager)) {
                try (batch) {
                    Batch[] parts = batch.split(new Device[] {Device.cpu()}, false);
                    assertEquals(DataType.INT64, parts[0].getLabels().head().getDataType());
                }
            }
        }
    }

    @Test
    void mistakesFailAtBuildNotAtTheFirstBatch() {
        ObjectStore store = DjlStreams.produce(dir.resolve("s"), 1, 3, L, 9, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LakestreamDataset.builder(store, 0, 1).labels().build());
        assertTrue(e.getMessage().contains("labels() needs at least one tensor name"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LakestreamDataset.builder(store, 0, 1).data("tokns").build());
        assertTrue(e.getMessage().contains("has no tensor 'tokns'") && e.getMessage().contains(store.describe())
                && e.getMessage().contains("tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LakestreamDataset.builder(store, 0, 1).labels("tokens", "lables").build());
        assertTrue(e.getMessage().contains("'lables'"), e.getMessage());
        int gpus = Engine.getInstance().getGpuCount();
        e = assertThrows(IllegalArgumentException.class,
                () -> LakestreamDataset.builder(store, 0, 1).optDevice(Device.gpu(gpus)).build());
        assertTrue(e.getMessage().contains("sees " + gpus + " GPU"), e.getMessage());
    }

    /** A step not committed at build() is checked when it arrives; the error names the stream. */
    @Test
    void aMissingTensorAtTheFirstBatchNamesTheStream() {
        ObjectStore store = FileStore.open(dir.resolve("s"), true);
        Streams.produce(store, "p", 1, 3, new SyntheticSource(0, DjlStreams.SEED, 0, 1, L), -1, Streams.opts()).close();
        try (LakestreamDataset ds = LakestreamDataset.builder(store, 0, 1).data("tokns").timeoutMillis(60_000).build()) {
            Streams.produce(store, "q", 1, 3, new SyntheticSource(6, DjlStreams.SEED, 0, 1, L), -1, Streams.opts()).close();
            Iterator<Batch> it = ds.getData(manager).iterator();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, it::next);
            assertTrue(e.getMessage().contains("stream " + store.describe() + " has no tensor 'tokns' at step 0"), e.getMessage());
            assertEquals(0, ds.nextStep(), "the step stays the next one");
        }
    }

    /** Two epochs on a stream with one epoch left: the second is an error, never a NaN loss. */
    @Test
    void anEpochOnAFinishedStreamIsAnErrorNotANaN() throws Exception {
        ObjectStore store = DjlStreams.produce(dir.resolve("s"), 1, 3, L, 12, true); // 4 steps, closed
        try (Model model = TrainAndResume.model(L);
             LakestreamDataset ds = TrainAndResume.dataset(store).build();
             Trainer trainer = TrainAndResume.trainer(model, L)) {
            EndOfStreamException e = assertThrows(EndOfStreamException.class, () -> EasyTrain.fit(trainer, 2, ds, null));
            assertTrue(e.getMessage().contains("ended at step 4") && e.getMessage().contains("this epoch has no step"),
                    e.getMessage());
            assertEquals(4, ds.nextStep(), "the first epoch trained every step");
            assertThrows(EndOfStreamException.class, () -> ds.getData(manager).iterator().hasNext());
        }
    }

    /** A superseded iterator's error gives the dataset's position when it is used, not when it was superseded. */
    @Test
    void aSupersededIteratorNamesTheCurrentPosition() {
        ObjectStore store = DjlStreams.produce(dir.resolve("s"), 1, 3, L, 30, true);
        try (LakestreamDataset ds = LakestreamDataset.builder(store, 0, 1).build()) {
            Iterable<Batch> data = ds.getData(manager);
            Iterator<Batch> a = data.iterator();
            a.next().close();
            Iterator<Batch> b = data.iterator();
            for (int i = 0; i < 5; i++) {
                b.next().close();
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, a::hasNext);
            assertTrue(e.getMessage().contains("now at step 6"), e.getMessage());
            assertFalse(e.getMessage().contains("nextStep 1"), e.getMessage());
        }
    }
}
