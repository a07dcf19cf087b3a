package io.lakestream.spark;

import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A Structured Streaming driver, run as its own JVM by the driver-kill test and the example:
 * JSON files ({@code record_id}, {@code tokens}) from a directory, one file per micro-batch, into
 * a stream; runs until every file present is written, then exits 0. Restarted with the same
 * checkpoint it resumes the query.
 *
 * <p>Args: {@code STREAM INPUT_DIR CHECKPOINT_DIR NAME LENGTHS [FAIL_POINTS]}, LENGTHS either
 * {@code SEQ_LEN} (rows carry fixed-length {@code tokens}) or {@code packed:SEQ_LEN} (rows carry
 * {@code text}, tokenised here into UTF-8 bytes and packed, end-of-document 256, padding 257).
 */
public final class StreamingQueryMain {
    private StreamingQueryMain() {}

    public static void main(String[] args) throws Exception {
        SparkSession spark = SparkSession.builder().master("local[2,4]").appName("lakestream-streaming")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2").getOrCreate();
        boolean packed = args[4].startsWith("packed:");
        StructType schema = packed ? new StructType().add("record_id", DataTypes.LongType).add("text", DataTypes.StringType)
                : new StructType().add("record_id", DataTypes.LongType).add("tokens", DataTypes.createArrayType(DataTypes.IntegerType));
        Map<String, String> opts = new HashMap<>(Map.of("stream", args[0], "name", args[3], "worldSize", "2",
                "microBatch", packed ? "4" : "2", "seqLen", packed ? args[4].substring(7) : args[4]));
        if (packed) {
            opts.putAll(Map.of("lengths", "packed", "eod", "256", "pad", "257"));
        }
        if (args.length > 5) {
            opts.put("failPoints", args[5]);
        }
        Dataset<Row> in = spark.readStream().schema(schema).option("maxFilesPerTrigger", "1").json(args[1]);
        if (packed) {
            ExampleMain.registerTokenizer(spark);
            in = in.selectExpr("record_id", "utf8_bytes(text) as tokens");
        }
        StreamingQuery q = in.writeStream().format("lakestream").options(opts).option("checkpointLocation", args[2]).start();
        System.out.println("query started, run id " + q.runId());
        q.processAllAvailable();
        q.stop();
        System.out.println("query done: last batch " + q.lastProgress().batchId());
        spark.stop();
    }
}
