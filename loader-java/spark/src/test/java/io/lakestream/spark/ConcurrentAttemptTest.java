package io.lakestream.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.connector.write.DataWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A speculative attempt: a second attempt of a partition started while the first still runs.
 * Spark starts no speculative attempts in local mode (its speculation check runs only for
 * cluster schedulers), so the test drives the writer factory Spark ships to executors exactly
 * as two executors would, interleaved deterministically: attempt 1 commits some batches and
 * stalls, attempt 2 starts (claiming a newer epoch), writes the whole partition and commits;
 * attempt 1 wakes up and must be fenced, its rows never committed twice.
 */
class ConcurrentAttemptTest {
    @TempDir
    Path dir;

    private static InternalRow row(long id, int seqLen) {
        int[] t = new int[seqLen];
        for (int j = 0; j < seqLen; j++) {
            t[j] = SparkTests.token(id, j);
        }
        return new GenericInternalRow(new Object[] {id, ArrayData.toArrayData(t)});
    }

    @Test
    void theOlderAttemptIsFencedAndEveryRowIsCommittedOnce() throws Exception {
        String uri = dir.resolve("stream").toUri().toString();
        int seqLen = 8;
        int rows = 400; // 100 global batches of 2 x 2
        // inline writes, one batch per commit: attempt 1's progress is exactly what it appended
        SparkWriteOptions o = SparkWriteOptions.parse(Map.of("stream", uri, "name", "spec", "worldSize", "2", "microBatch", "2",
                "seqLen", String.valueOf(seqLen), "group", "1", "writeParallelism", "0"));
        var factory = new LakestreamDataWriter.Factory(o, RowMapping.of(RowMapping.defaultSchema("record_id", "tokens"), o), 1);

        DataWriter<InternalRow> first = factory.createWriter(0, 1);
        for (long id = 0; id < 120; id++) {
            first.write(row(id, seqLen)); // 30 batches committed; then this attempt stalls (a slow executor)
        }
        DataWriter<InternalRow> second = factory.createWriter(0, 2);
        for (long id = 0; id < rows; id++) {
            second.write(row(id, seqLen));
        }
        LakestreamDataWriter.Committed done = (LakestreamDataWriter.Committed) second.commit();
        second.close();
        assertEquals(120, done.stats().rowsSkipped(), "the second attempt skips what the first committed");
        assertEquals(rows - 120, done.stats().rowsWritten());

        // the stalled attempt goes on: its next commit meets the newer epoch
        ProducerFencedException fenced = assertThrows(ProducerFencedException.class, () -> {
            for (long id = 120; id < rows; id++) {
                first.write(row(id, seqLen));
            }
            first.commit();
        });
        assertTrue(fenced.getMessage().contains("'spec-p0' epoch 1 is fenced"), fenced.getMessage());
        first.abort();
        first.close();

        try (ObjectStore store = ObjectStores.open(uri, false)) {
            assertEquals(rows / 4, ManifestLog.open(store, true).state().committedSteps());
            List<SparkTests.Sample> samples = SparkTests.readAll(store, 2);
            SparkTests.assertExactlyOnce(samples, 0, rows);
            assertEquals(120, samples.stream().filter(x -> x.epoch() == 1).count(), "the first attempt's committed rows");
        }
    }
}
