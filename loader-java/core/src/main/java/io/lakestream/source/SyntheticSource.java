package io.lakestream.source;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deterministic record source for demos and tests: record {@code i} (0 ≤ i < records, and
 * i mod partitions = partition) has {@code record_id = i} and {@code tokens[j] =
 * mix(seed, i, j) mod 50257} for j &lt; seqLen. Its cursor is the next record index to consider,
 * written {@code "next=<i>"}; the same (seed, i) always yields the same tokens on every machine.
 */
public final class SyntheticSource {
    public static final int VOCAB = 50257;

    private final long records;
    private final long seed;
    private final int partition;
    private final int partitions;
    private final int seqLen;
    private final DType tokenType;

    public SyntheticSource(long records, long seed, int partition, int partitions, int seqLen) {
        this(records, seed, partition, partitions, seqLen, DType.I32);
    }

    /**
     * @param tokenType I32 (the default) or U16: the vocabulary ({@value #VOCAB} ids) fits 16
     *                  bits, so U16 carries the same tokens in half the bytes
     */
    public SyntheticSource(long records, long seed, int partition, int partitions, int seqLen, DType tokenType) {
        if (records < 0 || partitions < 1 || partition < 0 || partition >= partitions || seqLen < 1) {
            throw new IllegalArgumentException("bad synthetic source: records=" + records + " partition=" + partition + "/"
                    + partitions + " seq-len=" + seqLen);
        }
        this.records = records;
        this.seed = seed;
        this.partition = partition;
        this.partitions = partitions;
        this.seqLen = seqLen;
        if (tokenType != DType.I32 && tokenType != DType.U16) {
            throw new IllegalArgumentException("synthetic tokens are I32 or U16, not " + tokenType);
        }
        this.tokenType = tokenType;
    }

    /** The same source writing its tokens as {@code t} (I32 or U16). */
    public SyntheticSource withTokenType(DType t) {
        return new SyntheticSource(records, seed, partition, partitions, seqLen, t);
    }

    public DType tokenType() {
        return tokenType;
    }

    /** Parses {@code synthetic:records=N,seed=S[,partition=P/Q]}. */
    public static SyntheticSource parse(String spec, int seqLen) {
        if (spec == null || !spec.startsWith("synthetic:")) {
            throw new IllegalArgumentException("unknown --source '" + spec + "' (supported: synthetic:records=N,seed=S[,partition=P/Q])");
        }
        java.util.Map<String, String> f = Sources.fields(spec.substring("synthetic:".length()), java.util.Set.of("records", "seed",
                "partition"));
        int[] pq = Sources.partition(f.getOrDefault("partition", "0/1"));
        long n = number(f, "records", -1);
        if (n < 0) {
            throw new IllegalArgumentException("--source needs records=N");
        }
        return new SyntheticSource(n, number(f, "seed", 0), pq[0], pq[1], seqLen);
    }

    private static long number(java.util.Map<String, String> f, String k, long dflt) {
        String v = f.get(k);
        try {
            return v == null ? dflt : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--source field '" + k + "' is not a number: '" + v + "'");
        }
    }

    /** The first cursor: before any record of this partition. */
    public long startIndex() {
        return partition;
    }

    public static long parseCursor(String cursor) {
        if (cursor == null) {
            return -1;
        }
        if (!cursor.startsWith("next=")) {
            throw new IllegalArgumentException("committed cursor '" + cursor + "' is not a synthetic-source cursor");
        }
        return Long.parseLong(cursor.substring(5));
    }

    public static String cursor(long nextIndex) {
        return "next=" + nextIndex;
    }

    /** Record ids of up to {@code max} records starting at index {@code from} (aligned to this partition). */
    public long[] take(long from, int max) {
        long first = from;
        long r = Math.floorMod(first - partition, (long) partitions);
        if (r != 0) {
            first += partitions - r;
        }
        List<Long> ids = new ArrayList<>();
        for (long i = first; i < records && ids.size() < max; i += partitions) {
            ids.add(i);
        }
        long[] out = new long[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i);
        }
        return out;
    }

    /** The index after {@code lastTaken}: the cursor once it was delivered. */
    public long after(long lastTaken) {
        return lastTaken + partitions;
    }

    public static int token(long seed, long record, int j) {
        long z = seed * 0x9E3779B97F4A7C15L + record * 0xBF58476D1CE4E5B9L + j * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (int) Math.floorMod(z, (long) VOCAB);
    }

    /** One rank shard of the given records: {@code tokens} I32 (or U16) [n, seqLen], {@code record_id} I64[n]. */
    public Map<String, TensorData> shard(long[] ids, int from, int count) {
        int[] tokens = new int[count * seqLen];
        long[] rid = new long[count];
        for (int s = 0; s < count; s++) {
            long id = ids[from + s];
            rid[s] = id;
            for (int j = 0; j < seqLen; j++) {
                tokens[s * seqLen + j] = token(seed, id, j);
            }
        }
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("tokens", tokenType == DType.U16 ? TensorData.ofU16(tokens, count, seqLen) : TensorData.ofInts(tokens, count, seqLen));
        m.put("record_id", TensorData.ofLongs(rid, count));
        return m;
    }

    /**
     * Splits {@code ids} into {@code worldSize} rank shards: {@code microBatch} each when full; a
     * final partial batch is spread as evenly as possible (the first n mod W ranks get one more),
     * so every record is delivered and no padding is invented.
     */
    public List<Map<String, TensorData>> globalBatch(long[] ids, int worldSize) {
        List<Map<String, TensorData>> shards = new ArrayList<>(worldSize);
        int n = ids.length;
        int base = n / worldSize;
        int extra = n % worldSize;
        int off = 0;
        for (int r = 0; r < worldSize; r++) {
            int c = base + (r < extra ? 1 : 0);
            shards.add(shard(ids, off, c));
            off += c;
        }
        return shards;
    }

    public long records() {
        return records;
    }

    public int partitions() {
        return partitions;
    }

    public int partition() {
        return partition;
    }

    public long seed() {
        return seed;
    }

    public int seqLen() {
        return seqLen;
    }
}
