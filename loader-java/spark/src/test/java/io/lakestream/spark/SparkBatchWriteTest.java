package io.lakestream.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batch jobs on a real local Spark (2 task slots, 2 attempts per task) with real task failures. */
class SparkBatchWriteTest {
    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = SparkTests.session(2, 2);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private String uri() {
        return dir.resolve("stream").toUri().toString();
    }

    private static void write(Dataset<Row> df, String uri, String name, Map<String, String> extra) {
        var w = df.write().format("lakestream").mode("append").option("stream", uri).option("name", name)
                .option("worldSize", "2").option("microBatch", "2");
        for (var e : extra.entrySet()) {
            w = w.option(e.getKey(), e.getValue());
        }
        w.save();
    }

    private static ManifestState state(String uri) {
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            return ManifestLog.open(store, true).state();
        }
    }

    private static List<SparkTests.Sample> read(String uri) {
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            return SparkTests.readAll(store, 2);
        }
    }

    @Test
    void everyFirstAttemptFailsAfterCommittingBatchesAndItsRetryResumesAtTheCursor() {
        String uri = uri();
        // each partition: 1,000 rows = 250 global batches of 2 x 2; the first attempt dies after its second commit
        write(SparkTests.fixedRows(spark, 0, 3000, 3, 8), uri, "job", Map.of("seqLen", "8",
                "failPoints", FailPoints.AFTER_COMMIT + "=throw@2"));
        ManifestState st = state(uri);
        for (int p = 0; p < 3; p++) {
            assertEquals(2, st.producer("job-p" + p).epoch(), "partition " + p + ": the failed attempt and its retry");
        }
        List<SparkTests.Sample> samples = read(uri);
        SparkTests.assertExactlyOnce(samples, 0, 3000);
        for (int p = 0; p < 3; p++) {
            String id = "job-p" + p;
            long first = samples.stream().filter(x -> x.producer().equals(id) && x.epoch() == 1).count();
            long retry = samples.stream().filter(x -> x.producer().equals(id) && x.epoch() == 2).count();
            assertTrue(first > 0 && retry > 0 && first + retry == 1000,
                    id + ": the failed attempt committed " + first + " samples, the retry " + retry + " (want both, 1,000 in all)");
        }
    }

    @Test
    void aRerunWithTheSameNameWritesNothingAndChangedInputIsRefused() {
        String uri = uri();
        Map<String, String> opts = Map.of("seqLen", "8");
        write(SparkTests.fixedRows(spark, 0, 600, 3, 8), uri, "daily", opts);
        long steps = state(uri).committedSteps();
        assertEquals(3 * 50, steps, "200 rows per partition = 50 global batches of 2 x 2");

        write(SparkTests.fixedRows(spark, 0, 600, 3, 8), uri, "daily", opts);
        assertEquals(steps, state(uri).committedSteps(), "the same job again: every row is already committed");

        Exception parts = assertThrows(Exception.class, () -> write(SparkTests.fixedRows(spark, 0, 600, 4, 8), uri, "daily", opts));
        assertTrue(causes(parts).contains("was run with 3 partitions, this run has 4"), causes(parts));

        Exception rows = assertThrows(Exception.class, () -> write(SparkTests.fixedRows(spark, 1, 601, 3, 8), uri, "daily", opts));
        assertTrue(causes(rows).contains("no longer have the same record ids and lengths"), causes(rows));

        Exception length = assertThrows(Exception.class, () -> write(SparkTests.fixedRows(spark, 0, 10, 1, 5), uri, "other", opts));
        assertTrue(causes(length).contains("has 5 tokens in column 'tokens'; lengths=fixed needs exactly seqLen=8"), causes(length));

        assertEquals(steps, state(uri).committedSteps(), "refused runs commit nothing");
        SparkTests.assertExactlyOnce(read(uri), 0, 600);
    }

    @Test
    void packedRowsAreConcatenatedAcrossSamplesAndAFailedAttemptResumesInsideARow() {
        String uri = uri();
        int seqLen = 16;
        int eod = 30001;
        int pad = 30002;
        write(SparkTests.packedRows(spark, 0, 2000, 2), uri, "packed", Map.of("seqLen", String.valueOf(seqLen), "lengths", "packed",
                "eod", String.valueOf(eod), "pad", String.valueOf(pad), "failPoints", FailPoints.AFTER_COMMIT + "=throw@3"));
        Map<String, List<Integer>> streams = new TreeMap<>();
        for (SparkTests.Sample x : read(uri)) {
            List<Integer> s = streams.computeIfAbsent(x.producer(), k -> new ArrayList<>());
            for (int t : x.tokens()) {
                s.add(t);
            }
        }
        for (int p = 0; p < 2; p++) {
            long[] range = SparkTests.rangeOfPartition(0, 2000, 2, p);
            List<Integer> want = new ArrayList<>();
            for (long id = range[0]; id < range[1]; id++) {
                for (int j = 0; j < SparkTests.length(id); j++) {
                    want.add(SparkTests.token(id, j));
                }
                want.add(eod);
            }
            while (want.size() % seqLen != 0) {
                want.add(pad);
            }
            List<Integer> got = streams.get("packed-p" + p);
            assertEquals(want.size(), got.size(), "partition " + p + ": tokens delivered");
            assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), got.stream().mapToInt(Integer::intValue).toArray(),
                    "partition " + p + ": its rows' tokens in order, each once");
            assertEquals(2, state(uri).producer("packed-p" + p).epoch(), "partition " + p + ": the failed attempt and its retry");
        }
    }

    /** The messages of an exception and its causes, one line each (Spark wraps a task's failure). */
    static String causes(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getClass().getName()).append(": ").append(c.getMessage()).append('\n');
        }
        return b.toString();
    }
}
