package io.lakestream.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine-neutral part, without Spark: resume rules and refusals a Spark job would meet. */
class PartitionWriterTest {
    @TempDir
    Path dir;

    private SparkWriteOptions options(String uri, String name) {
        return SparkWriteOptions.parse(Map.of("stream", uri, "name", name, "worldSize", "2", "microBatch", "2", "seqLen", "4",
                "writeParallelism", "0"));
    }

    private static void rows(PartitionWriter w, long from, long to) {
        for (long id = from; id < to; id++) {
            int[] t = new int[4];
            for (int j = 0; j < 4; j++) {
                t[j] = SparkTests.token(id, j);
            }
            w.write(id, t, 4);
        }
    }

    @Test
    void aPartitionThatLostItsRowsIsRefusedWithoutClaimingAnEpoch() {
        String uri = dir.resolve("s").toUri().toString();
        SparkWriteOptions o = options(uri, "job");
        try (PartitionWriter w = new PartitionWriter(o, 0, 1, -1, StreamEnv.defaults())) {
            rows(w, 0, 10);
            assertEquals(3, w.finish().steps(), "two full global batches of 4 and a tail of 2");
        }
        try (PartitionWriter empty = new PartitionWriter(o, 0, 1, -1, StreamEnv.defaults())) {
            InputChangedException e = assertThrows(InputChangedException.class, empty::finish);
            assertTrue(e.getMessage().contains("producer 'job-p0'") && e.getMessage().contains("it has no rows now, but 10 were committed"),
                    e.getMessage());
        }
        try (PartitionWriter fewer = new PartitionWriter(o, 0, 1, -1, StreamEnv.defaults())) {
            rows(fewer, 0, 6);
            InputChangedException e = assertThrows(InputChangedException.class, fewer::finish);
            assertTrue(e.getMessage().contains("it has 6 rows now, but 10 were committed"), e.getMessage());
        }
        try (PartitionWriter same = new PartitionWriter(o, 0, 1, -1, StreamEnv.defaults())) {
            rows(same, 0, 10);
            PartitionWriter.Stats st = same.finish();
            assertEquals(0, st.steps());
            assertEquals(10, st.rowsSkipped());
        }
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            SparkTests.assertExactlyOnce(SparkTests.readAll(store, 2), 0, 10);
        }
    }

    @Test
    void aProducerIdWrittenByAnotherWriterIsRefusedByName() {
        String uri = dir.resolve("s").toUri().toString();
        try (ObjectStore store = ObjectStores.open(uri, true);
             TgbProducer p = TgbProducer.open(store, "cli-p0", StreamConfig.of(2), ProducerOptions.defaults())) {
            p.append(List.of(Map.of("tokens", io.lakestream.format.TensorData.ofInts(new int[] {1, 2, 3, 4}, 1, 4)),
                    Map.of("tokens", io.lakestream.format.TensorData.ofInts(new int[] {5, 6, 7, 8}, 1, 4))), "synthetic:next=2");
            p.commit();
        }
        try (PartitionWriter w = new PartitionWriter(options(uri, "cli"), 0, 1, -1, StreamEnv.defaults())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rows(w, 0, 1));
            assertTrue(e.getMessage().contains("producer 'cli-p0' has a cursor not written by the Spark writer"), e.getMessage());
        }
    }

    @Test
    void optionsNameWhatIsMissingOrWrong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkWriteOptions.parse(Map.of("stream", "file:///tmp/x", "name", "n", "worldSize", "2", "seqLen", "4")));
        assertTrue(e.getMessage().contains("'microBatch' is required"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SparkWriteOptions.parse(Map.of("stream", "file:///tmp/x", "name", "n",
                "worldSize", "2", "microBatch", "2", "seqLen", "4", "wordSize", "2")));
        assertTrue(e.getMessage().contains("unknown lakestream option 'wordSize'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SparkWriteOptions.parse(Map.of("stream", "file:///tmp/x", "name", "n",
                "worldSize", "0", "microBatch", "2", "seqLen", "4")));
        assertTrue(e.getMessage().contains("'worldSize' must be >= 1, got 0"), e.getMessage());
    }
}
