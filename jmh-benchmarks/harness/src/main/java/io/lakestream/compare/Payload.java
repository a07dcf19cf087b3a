package io.lakestream.compare;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The bytes both sides move, generated before any clock starts so the data source costs
 * nothing: a few distinct rank shards of random int32 tokens, reused round robin. A Kafka record
 * value is exactly a shard's token bytes; a Lakestream rank shard is the same bytes as tensor
 * {@code tokens} I32 {@code [samples, seq]} (plus its small safetensors header).
 *
 * <p>The first 16 bytes of a shard carry a stamp: the step's index and the wall-clock time in
 * nanoseconds when the producer handed it over. Readers in other processes on this machine read
 * it back to compute append→visible latency (same clock, {@link Instant#now()}).
 */
final class Payload {
    static final int STAMP_BYTES = 16;
    private static final int DISTINCT = 8;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    final int shardBytes;
    final int worldSize;
    private final long[] shape;
    private final byte[][] shards;

    Payload(int shardBytes, int worldSize, long seed) {
        if (shardBytes < STAMP_BYTES || shardBytes % 4 != 0) {
            throw new IllegalArgumentException("shard bytes must be a multiple of 4 and at least " + STAMP_BYTES + ", got " + shardBytes);
        }
        this.shardBytes = shardBytes;
        this.worldSize = worldSize;
        int tokens = shardBytes / 4;
        this.shape = tokens % 1024 == 0 ? new long[] {tokens / 1024, 1024} : new long[] {1, tokens};
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = Math.max(DISTINCT, worldSize);
        this.shards = new byte[n][];
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[shardBytes];
            for (int j = 0; j < shardBytes; j += 4) { // token ids below GPT-2's vocabulary, little-endian
                int t = rnd.nextInt(50257);
                b[j] = (byte) t;
                b[j + 1] = (byte) (t >>> 8);
                b[j + 2] = (byte) (t >>> 16);
            }
            shards[i] = b;
        }
    }

    /** Bytes of payload per global step (all ranks). */
    long stepBytes() {
        return (long) shardBytes * worldSize;
    }

    /**
     * Stamps rank {@code rank}'s shard of step {@code index} and returns it. The array is reused
     * round robin: the caller hands it over (a copy is made by append/send) before the next stamp
     * of the same array, which one producer thread per Payload guarantees.
     */
    byte[] stampedShard(long index, int rank, long wallNanos) {
        byte[] b = shards[(int) ((index * worldSize + rank) % shards.length)];
        putLong(b, 0, index);
        putLong(b, 8, wallNanos);
        return b;
    }

    /** The global batch of step {@code index} for Lakestream, stamped now. */
    List<Map<String, TensorData>> lakestreamBatch(long index, long wallNanos) {
        List<Map<String, TensorData>> out = new ArrayList<>(worldSize);
        for (int r = 0; r < worldSize; r++) {
            Map<String, TensorData> m = new LinkedHashMap<>(2);
            m.put("tokens", new TensorData(DType.I32, shape, stampedShard(index, r, wallNanos)));
            out.add(m);
        }
        return out;
    }

    static long wallNanos() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    static long index(MemorySegment s) {
        return s.get(LONG, 0);
    }

    static long stamp(MemorySegment s) {
        return s.get(LONG, 8);
    }

    static long index(byte[] b) {
        return getLong(b, 0);
    }

    static long stamp(byte[] b) {
        return getLong(b, 8);
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    private static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }
}
