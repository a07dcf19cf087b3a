package io.lakestream.format;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
     * @param shards one tensor map per rank, rank 0 first
     * @param meta   identification written into the footer (producer, epoch, seq)
     */
    public static Encoded encode(List<? extends Map<String, TensorData>> shards, Codec codec, Map<String, String> meta) {
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a global batch needs at least one rank shard");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<ShardEntry> entries = new ArrayList<>(shards.size());
        long firstSample = 0;
        for (Map<String, TensorData> shard : shards) {
            byte[] raw = TensorBlob.encode(shard);
            long samples = shard.values().iterator().next().samples();
            byte[] stored = codec == Codec.LZ4 ? Lz4Frames.encode(raw) : raw;
            long offset = out.size();
            out.writeBytes(stored);
            long headerLength = 8 + ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            entries.add(new ShardEntry(offset, stored.length, Crc32c.of(stored, 0, stored.length), raw.length, samples, firstSample,
                    headerLength, Crc32c.of(raw, 0, (int) headerLength)));
            firstSample += samples;
        }
        byte[] footer = Json.write(new Footer(1, codec.id(), new LinkedHashMap<>(meta), entries));
        out.writeBytes(footer);
        byte[] tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(footer.length).array();
        out.writeBytes(tail);
        out.writeBytes(MAGIC);
        // The footer keeps the per-shard form (an object describes itself to any tool); the
        // manifest gets the compact table (the log converts it for streams of format version 1).
        ShardTable table = ShardTable.of(entries);
        return new Encoded(out.toByteArray(), codec, table != null ? table : List.copyOf(entries));
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
