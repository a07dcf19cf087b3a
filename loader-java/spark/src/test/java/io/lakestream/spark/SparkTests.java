package io.lakestream.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Shared by the Spark tests: a local session, generated rows, and reading a stream back. */
final class SparkTests {
    private SparkTests() {}

    /** A local session with {@code cores} task slots and {@code maxFailures} attempts per task. */
    static SparkSession session(int cores, int maxFailures) {
        return SparkSession.builder().master("local[" + cores + "," + maxFailures + "]").appName("lakestream-test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2").config("spark.sql.adaptive.enabled", "false").getOrCreate();
    }

    /** The token at position {@code j} of record {@code id}: every consumed token is checked against it. */
    static int token(long id, int j) {
        return (int) ((id * 7 + j) % 30000);
    }

    /** Packed test rows: record {@code id} has this many tokens (1..37). */
    static int length(long id) {
        return 1 + (int) (id % 37);
    }

    /** Rows {@code [from, to)} in {@code parts} partitions: record_id long, tokens array<int> of {@code seqLen}. */
    static Dataset<Row> fixedRows(SparkSession s, long from, long to, int parts, int seqLen) {
        return s.range(from, to, 1, parts).selectExpr("id as record_id",
                "transform(sequence(0, " + (seqLen - 1) + "), x -> cast((id * 7 + x) % 30000 as int)) as tokens");
    }

    /** As {@link #fixedRows} with {@link #length} tokens per row. */
    static Dataset<Row> packedRows(SparkSession s, long from, long to, int parts) {
        return s.range(from, to, 1, parts).selectExpr("id as record_id",
                "transform(sequence(0, cast(id % 37 as int)), x -> cast((id * 7 + x) % 30000 as int)) as tokens");
    }

    /** One sample as read: its step, the producer that wrote it, its record ids and tokens. */
    record Sample(long step, String producer, long epoch, long firstId, long lastId, int[] tokens) {}

    /** Every committed step on every rank, samples in step order and rank order within a step. */
    static List<Sample> readAll(ObjectStore store, int w) {
        long steps = ManifestLog.open(store, true).state().committedSteps();
        List<List<Sample>> perRank = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            List<Sample> out = new ArrayList<>();
            try (RankReader reader = RankReader.open(store, r, w, 0, ReaderOptions.defaults())) {
                for (long s = 0; s < steps; s++) {
                    try (StepBatch b = reader.next(30_000)) {
                        assertEquals(s, b.step(), "gap-free steps");
                        String obj = b.object();
                        String producer = obj.substring(obj.indexOf("data/") + 5, obj.lastIndexOf('/'));
                        String file = obj.substring(obj.lastIndexOf('/') + 1);
                        long epoch = Long.parseLong(file.substring(0, file.indexOf('-')));
                        long[] ids = b.tensor("record_id").toLongArray();
                        long[] last = b.tensors().stream().anyMatch(t -> t.name().equals("last_record_id"))
                                ? b.tensor("last_record_id").toLongArray() : ids;
                        int[] toks = b.tensor("tokens").toIntArray();
                        int seqLen = ids.length == 0 ? 0 : toks.length / ids.length;
                        for (int i = 0; i < ids.length; i++) {
                            out.add(new Sample(s, producer, epoch, ids[i], last[i], java.util.Arrays.copyOfRange(toks, i * seqLen, (i + 1) * seqLen)));
                        }
                    }
                }
            }
            perRank.add(out);
        }
        List<Sample> all = new ArrayList<>();
        for (long s = 0; s < steps; s++) {
            for (List<Sample> rank : perRank) {
                for (Sample x : rank) {
                    if (x.step() == s) {
                        all.add(x);
                    }
                }
            }
        }
        return all;
    }

    /** Fixed lengths: every id of {@code [from, to)} exactly once, nothing else, each with its own tokens. */
    static void assertExactlyOnce(List<Sample> samples, long from, long to) {
        BitSet seen = new BitSet();
        for (Sample x : samples) {
            long id = x.firstId();
            assertTrue(id >= from && id < to, "record " + id + " was never in the input (step " + x.step() + ")");
            assertTrue(!seen.get((int) (id - from)), "record " + id + " delivered twice (step " + x.step() + ")");
            seen.set((int) (id - from));
            for (int j = 0; j < x.tokens().length; j++) {
                assertEquals(token(id, j), x.tokens()[j], "token " + j + " of record " + id);
            }
        }
        assertEquals(to - from, seen.cardinality(), "records delivered (of " + (to - from) + "); first missing: " + seen.nextClearBit(0));
    }

    /** The ids of partition {@code p} of {@code range(from, to, 1, parts)}, as Spark's RangeExec splits it. */
    static long[] rangeOfPartition(long from, long to, int parts, int p) {
        long n = to - from;
        return new long[] {from + p * n / parts, from + (p + 1) * n / parts};
    }
}
