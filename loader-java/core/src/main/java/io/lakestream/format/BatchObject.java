package io.lakestream.format;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * One global batch as one object: rank shards back to back, then a JSON footer that repeats the
 * shard table (so an object is self-describing even without the manifest, e.g. for GC and
 * forensics), its 4-byte little-endian length, and the 8-byte magic "LSTGB001".
 */
public final class BatchObject {
    public static final byte[] MAGIC = "LSTGB001".getBytes(StandardCharsets.US_ASCII);

    private BatchObject() {}

    /** The encoded object and the shard table the manifest records (a {@link ShardTable}). */
    public record Encoded(byte[] bytes, Codec codec, List<ShardEntry> shards) {
        public long totalSamples() {
            long n = 0;
            for (ShardEntry s : shards) {
                n += s.samples();
            }
            return n;
        }
    }

    /** Footer contents. */
    public record Footer(int formatVersion, String codec, Map<String, String> meta, List<ShardEntry> shards) {}

    /**
     * Encodes into a heap array (tools and tests; a producer encodes off-heap with a
     * {@link BatchEncoder}, which this delegates to).
     *
     * @param shards one tensor map per rank, rank 0 first
     * @param meta   identification written into the footer (producer, epoch, seq)
     */
    public static Encoded encode(List<? extends Map<String, TensorData>> shards, Codec codec, Map<String, String> meta) {
        BatchEncoder e = new BatchEncoder(codec).reserveMeta(meta);
        try (Arena a = Arena.ofConfined()) {
            BatchEncoder.Encoded enc = e.encode(shards, meta, a.allocate(e.maxSize(shards)));
            return new Encoded(enc.object().toArray(ValueLayout.JAVA_BYTE), codec, enc.shards());
        }
    }

    /** Reads the footer of a whole object (used by tools, not by the read path). */
    public static Footer readFooter(byte[] object, String where) {
        int n = object.length;
        if (n < 12 || !java.util.Arrays.equals(object, n - 8, n, MAGIC, 0, 8)) {
            throw new FormatException(where + ": not a Lakestream batch object (bad trailing magic)");
        }
        int len = ByteBuffer.wrap(object, n - 12, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (len <= 0 || len > n - 12) {
            throw new FormatException(where + ": batch object footer length " + len + " is invalid");
        }
        return Json.read(java.util.Arrays.copyOfRange(object, n - 12 - len, n - 12), Footer.class, where + " footer");
    }
}
