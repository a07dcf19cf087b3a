package io.lakestream.spark;

import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.store.Keys;
import java.io.Serializable;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The options of {@code format("lakestream")}, parsed once on the driver and shipped to the
 * tasks (hence serializable and free of Spark types). Every error names the option.
 *
 * @param stream           the stream URI ({@code file:///dir}, {@code s3://bucket/prefix})
 * @param name             the job's stable name: partition {@code p} is producer {@code <name>-p<p>};
 *                         a re-run with the same name resumes, never duplicates
 * @param worldSize        data-parallel ranks per global batch (a new stream is created with it)
 * @param microBatch       samples per rank per step: a global batch is worldSize x microBatch samples
 * @param seqLen           tokens per sample
 * @param packed           false ("fixed"): one row is one sample of exactly seqLen tokens; true
 *                         ("packed"): rows' tokens are concatenated (each followed by eod, if set)
 *                         and cut into seqLen samples, a partition's last one padded with pad
 * @param tokensColumn     the array column holding a row's tokens
 * @param recordIdColumn   the long (or int) column holding a row's record id
 * @param dtype            how tokens are stored: I32 or U16
 * @param codec            how shards are stored: none or lz4
 * @param group            batches per commit (the producer's group commit; grows on conflicts)
 * @param writeParallelism batch objects a task writes at once (0: inline, no threads)
 * @param eod              packed: token appended after every row (negative: none)
 * @param pad              packed: token that fills a partition's last sample
 * @param failPoints       testing: fail points ({@code io.lakestream.fail.FailPoints} syntax)
 *                         armed in the first attempt of every task, so the retry finishes
 */
public record SparkWriteOptions(String stream, String name, int worldSize, int microBatch, int seqLen, boolean packed,
                                String tokensColumn, String recordIdColumn, DType dtype, Codec codec, int group,
                                int writeParallelism, int eod, int pad, String failPoints) implements Serializable {
    private static final long serialVersionUID = 1L;
    static final Set<String> KNOWN = Set.of("stream", "name", "worldsize", "microbatch", "seqlen", "lengths", "tokenscolumn",
            "recordidcolumn", "dtype", "lz4", "group", "writeparallelism", "eod", "pad", "failpoints", "path",
            "checkpointlocation", "queryname");

    /** Parses Spark's (case-insensitive) options. */
    public static SparkWriteOptions parse(Map<String, String> raw) {
        Map<String, String> o = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        o.putAll(raw);
        for (String k : o.keySet()) {
            // Spark's own (internal or session) options may ride along; anything else is a typo worth naming
            if (!KNOWN.contains(k.toLowerCase(Locale.ROOT)) && !k.startsWith("__") && !k.startsWith("spark.")) {
                throw new IllegalArgumentException("unknown lakestream option '" + k + "'; known: stream, name, worldSize, microBatch,"
                        + " seqLen, lengths, tokensColumn, recordIdColumn, dtype, lz4, group, writeParallelism, eod, pad");
            }
        }
        String stream = o.containsKey("stream") ? o.get("stream") : o.get("path");
        if (stream == null || stream.isBlank()) {
            throw new IllegalArgumentException("lakestream option 'stream' is required: the stream URI (file:///dir or s3://bucket/prefix)");
        }
        String name = required(o, "name", "the job's stable name (partition p writes as producer <name>-p<p>)");
        Keys.validateId("lakestream option 'name'", name + "-p0");
        String lengths = o.getOrDefault("lengths", "fixed").toLowerCase(Locale.ROOT);
        if (!lengths.equals("fixed") && !lengths.equals("packed")) {
            throw new IllegalArgumentException("lakestream option 'lengths' must be fixed or packed, got '" + lengths + "'");
        }
        DType dtype = switch (o.getOrDefault("dtype", "i32").toLowerCase(Locale.ROOT)) {
            case "i32" -> DType.I32;
            case "u16" -> DType.U16;
            default -> throw new IllegalArgumentException("lakestream option 'dtype' must be i32 or u16, got '" + o.get("dtype") + "'");
        };
        return new SparkWriteOptions(stream, name, positive(o, "worldSize", null), positive(o, "microBatch", null),
                positive(o, "seqLen", null), lengths.equals("packed"), o.getOrDefault("tokensColumn", "tokens"),
                o.getOrDefault("recordIdColumn", "record_id"), dtype,
                Boolean.parseBoolean(o.getOrDefault("lz4", "false")) ? Codec.LZ4 : Codec.NONE, positive(o, "group", 4),
                integer(o, "writeParallelism", 2, 0), integer(o, "eod", -1, Integer.MIN_VALUE), integer(o, "pad", 0, 0),
                o.get("failPoints"));
    }

    private static String required(Map<String, String> o, String key, String what) {
        String v = o.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("lakestream option '" + key + "' is required: " + what);
        }
        return v;
    }

    private static int positive(Map<String, String> o, String key, Integer dflt) {
        if (!o.containsKey(key) && dflt == null) {
            throw new IllegalArgumentException("lakestream option '" + key + "' is required (a positive integer)");
        }
        return integer(o, key, dflt == null ? 0 : dflt, 1);
    }

    private static int integer(Map<String, String> o, String key, int dflt, int min) {
        String v = o.get(key);
        if (v == null) {
            return dflt;
        }
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lakestream option '" + key + "' must be an integer, got '" + v + "'");
        }
        if (n < min) {
            throw new IllegalArgumentException("lakestream option '" + key + "' must be >= " + min + ", got " + n);
        }
        return n;
    }

    /** The producer id of partition {@code p}. */
    public String producerId(int partition) {
        return name + "-p" + partition;
    }

    /** The template a new stream is created from (an existing stream keeps its own config). */
    StreamConfig template() {
        return StreamConfig.of(worldSize);
    }

    ProducerOptions producerOptions() {
        return ProducerOptions.defaults().withCodec(codec).withGroup(group, Math.max(group, 64), true)
                .withWriteParallelism(writeParallelism);
    }
}
