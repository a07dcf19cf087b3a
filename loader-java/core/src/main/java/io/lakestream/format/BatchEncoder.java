package io.lakestream.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * Encodes a global batch into a {@link BatchObject} in off-heap memory, in one pass over the
 * tensor bytes: each row is copied from the caller's array into its final place and checksummed
 * while it is still in cache; the checksums of larger spans (a sample across tensors, a shard's
 * data section, the whole shard behind its header) are combined from the row checksums
 * ({@link Crc32c.Shift}) instead of reading the bytes again. Headers and the footer are written
 * as JSON text straight into the segment ({@link JsonOut}), byte for byte as the format's Jackson
 * mapper writes them, so the producer's only copy of a batch is this one and the steady-state
 * heap garbage per batch is the shard table the manifest keeps.
 *
 * <p>{@link #maxSize} sizes the destination first: exact for {@link Codec#NONE} up to the
 * footer's digits, an LZ4 bound otherwise; {@link #encode} returns the exact-size object.
 *
 * <p>One instance per producer (it reuses its scratch arrays and checksum operators): not
 * thread-safe.
 */
public final class BatchEncoder {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int LZ4_MAGIC = 0x345a534c; // "LSZ4" read little-endian
    /** Rows longer than this are copied and checksummed in chunks of it (stays in L2). */
    private static final int CHUNK = 64 << 10;
    private static final int SHIFT_CACHE = 16;
    /** Decimal digits of the largest footer number (a long). */
    private static final int MAX_DIGITS = 19;

    private final Codec codec;
    private final LZ4Compressor lz4;
    private final JsonOut json = new JsonOut();
    private final CRC32C crc = new CRC32C();
    // per-shard results of the current batch (grown to the world size, reused)
    private long[] offset = new long[0];
    private long[] length = new long[0];
    private long[] stored = new long[0];
    private long[] rawLength = new long[0];
    private long[] samples = new long[0];
    private long[] firstSample = new long[0];
    private long[] headerLength = new long[0];
    private long[] headerCrc = new long[0];
    /** Per-sample checksum accumulators of the shard being written. */
    private long[] sampleCrc = new long[0];
    private final long[] shiftKeys = new long[SHIFT_CACHE];
    private final Crc32c.Shift[] shifts = new Crc32c.Shift[SHIFT_CACHE];
    private int shiftNext;
    /** LZ4 only: the raw blob of one shard before compression. */
    private MemorySegment scratch;
    /**
     * The tensors of the shard being sized or written, taken from its map in one pass
     * ({@link #gather}): the header, the checks and the copy walk these arrays instead of the
     * map's views and iterators, several times per shard (issue 23). Cleared after each call, so
     * the encoder does not hold on to the caller's arrays.
     */
    private String[] names = new String[0];
    private TensorData[] tensors = new TensorData[0];
    private int tensorCount;
    /** A copy of a shard's header, which is checksummed from the heap (no segment slice and buffer view per shard). */
    private byte[] headerCopy = new byte[0];

    public BatchEncoder(Codec codec) {
        this.codec = codec;
        this.lz4 = codec == Codec.LZ4 ? LZ4Factory.fastestInstance().fastCompressor() : null;
        Arrays.fill(shiftKeys, -1);
    }

    public Codec codec() {
        return codec;
    }

    /** The encoded object (an exact-size slice of the destination) and the shard table the manifest records. */
    public record Encoded(MemorySegment object, Codec codec, List<ShardEntry> shards) {}

    /** Bytes the destination of {@link #encode} must have for these shards. */
    public long maxSize(List<? extends Map<String, TensorData>> shards) {
        long n = 0;
        try {
            for (int r = 0; r < shards.size(); r++) {
                gather(shards.get(r));
                long raw = blobSize();
                n += codec == Codec.LZ4 ? Lz4Frames.HEADER + lz4.maxCompressedLength(Math.toIntExact(raw)) : raw;
            }
        } finally {
            ungather();
        }
        return n + footerBound(shards.size()) + 4 + BatchObject.MAGIC.length;
    }

    /** Takes {@code shard}'s tensors into {@link #names} and {@link #tensors}, in the map's order. */
    private void gather(Map<String, TensorData> shard) {
        int n = shard.size();
        if (names.length < n) {
            names = new String[n];
            tensors = new TensorData[n];
        }
        int i = 0;
        for (Map.Entry<String, TensorData> e : shard.entrySet()) {
            names[i] = e.getKey();
            tensors[i] = e.getValue();
            i++;
        }
        tensorCount = i;
    }

    private void ungather() {
        Arrays.fill(names, null);
        Arrays.fill(tensors, null);
        tensorCount = 0;
    }

    /** Encodes with footer meta {@code {"epoch","producer","seq"}}, as a producer writes its batches. */
    public Encoded encode(List<? extends Map<String, TensorData>> shards, String producer, long epoch, long seq, MemorySegment dst) {
        long end = writeShards(shards, dst);
        JsonOut j = json.at(dst, end);
        j.raw('{').key("codec").string(codec.id()).raw(',').key("format_version").number(1).raw(',').key("meta").raw('{')
                .key("epoch").raw('"').number(epoch).raw('"').raw(',').key("producer").string(producer).raw(',')
                .key("seq").raw('"').number(seq).raw('"').raw('}').raw(',');
        return finish(shards.size(), dst, end);
    }

    /** Encodes with arbitrary footer meta (written sorted by key, as the format's mapper does). */
    public Encoded encode(List<? extends Map<String, TensorData>> shards, Map<String, String> meta, MemorySegment dst) {
        long end = writeShards(shards, dst);
        JsonOut j = json.at(dst, end);
        j.raw('{').key("codec").string(codec.id()).raw(',').key("format_version").number(1).raw(',').key("meta").raw('{');
        boolean first = true;
        for (String k : new java.util.TreeMap<>(meta).keySet()) {
            if (!first) {
                j.raw(',');
            }
            first = false;
            j.string(k).raw(':').string(meta.get(k));
        }
        j.raw('}').raw(',');
        return finish(shards.size(), dst, end);
    }

    private long writeShards(List<? extends Map<String, TensorData>> shards, MemorySegment dst) {
        try {
            return writeShardsGathered(shards, dst);
        } finally {
            ungather();
        }
    }

    private long writeShardsGathered(List<? extends Map<String, TensorData>> shards, MemorySegment dst) {
        int w = shards.size();
        if (w == 0) {
            throw new IllegalArgumentException("a global batch needs at least one rank shard");
        }
        ensureShards(w);
        ByteBuffer view = codec == Codec.LZ4 ? dst.asByteBuffer() : null;
        long at = 0;
        long first = 0;
        for (int r = 0; r < w; r++) {
            gather(shards.get(r));
            offset[r] = at;
            firstSample[r] = first;
            if (codec == Codec.NONE) {
                long raw = writeBlob(dst, at, r);
                rawLength[r] = raw;
                length[r] = raw;
            } else {
                long raw = blobSize();
                MemorySegment s = scratch(raw);
                writeBlob(s, 0, r);
                rawLength[r] = raw;
                dst.set(U32, at, LZ4_MAGIC);
                dst.set(U64, at + 4, raw);
                int out = lz4.compress(s.asByteBuffer(), 0, (int) raw, view, (int) at + Lz4Frames.HEADER,
                        (int) Math.min(Integer.MAX_VALUE, dst.byteSize() - at - Lz4Frames.HEADER));
                long n = Lz4Frames.HEADER + out;
                crc.reset();
                view.limit((int) (at + n)).position((int) at);
                crc.update(view);
                view.clear();
                stored[r] = crc.getValue();
                length[r] = n;
            }
            at += length[r];
            first += samples[r];
        }
        return at;
    }

    /** Writes the footer's shard table, its length and the magic; returns the object. */
    private Encoded finish(int w, MemorySegment dst, long footerStart) {
        JsonOut j = json;
        j.key("shards").raw('[');
        for (int r = 0; r < w; r++) {
            if (r > 0) {
                j.raw(',');
            }
            j.raw('{').key("crc32c").number(stored[r]).raw(',').key("first_sample").number(firstSample[r]).raw(',')
                    .key("header_crc32c").number(headerCrc[r]).raw(',').key("header_length").number(headerLength[r]).raw(',')
                    .key("length").number(length[r]).raw(',').key("offset").number(offset[r]).raw(',')
                    .key("raw_length").number(rawLength[r]).raw(',').key("samples").number(samples[r]).raw('}');
        }
        j.raw(']').raw('}');
        long footerEnd = j.pos();
        dst.set(U32, footerEnd, Math.toIntExact(footerEnd - footerStart));
        MemorySegment.copy(BatchObject.MAGIC, 0, dst, ValueLayout.JAVA_BYTE, footerEnd + 4, BatchObject.MAGIC.length);
        long size = footerEnd + 4 + BatchObject.MAGIC.length;
        // The manifest gets the compact table (the log converts it back for streams of format
        // version 1), made from the per-shard arrays: the same table as ShardTable.of of the
        // entries, without them (the encoder's shards always lie back to back with header fields).
        List<ShardEntry> table = ShardTable.ofShards(w, length, rawLength, samples, stored, headerLength, headerCrc);
        return new Encoded(dst.asSlice(0, size), codec, table);
    }

    /** An upper bound of the footer's length: its text with every number at its widest. */
    private long footerBound(int w) {
        // the constant text, measured with zeros (1 digit each) ...
        JsonOut j = json.measure();
        j.raw('{').key("codec").string(codec.id()).raw(',').key("format_version").number(1).raw(',').key("meta").raw('{')
                .key("epoch").numberString(0).raw(',').key("producer").raw('"').raw('"').raw(',').key("seq").numberString(0)
                .raw('}').raw(',').key("shards").raw('[');
        long perShard = json.measure().raw('{').key("crc32c").number(0).raw(',').key("first_sample").number(0).raw(',')
                .key("header_crc32c").number(0).raw(',').key("header_length").number(0).raw(',').key("length").number(0).raw(',')
                .key("offset").number(0).raw(',').key("raw_length").number(0).raw(',').key("samples").number(0).raw('}').pos();
        // ... plus the widest numbers, producer ids (validated keys, < 256 ASCII) and arbitrary meta
        return j.pos() + 2 + (long) w * (perShard + 1 + 8 * (MAX_DIGITS - 1)) + 2 * MAX_DIGITS + 1024 + metaSlack;
    }

    /** Extra footer room for arbitrary meta; set by {@link #reserveMeta} (tools, not the producer). */
    private long metaSlack;

    /** Makes {@link #maxSize} leave room for footer meta of this size (for {@link #encode(List, Map, MemorySegment)}). */
    public BatchEncoder reserveMeta(Map<String, String> meta) {
        JsonOut j = json.measure();
        for (Map.Entry<String, String> e : meta.entrySet()) {
            j.string(e.getKey()).raw(':').string(e.getValue()).raw(',');
        }
        metaSlack = j.pos();
        return this;
    }

    // ------------------------------------------------------------------ tensor blobs

    /** Exact size of the tensor blob of the gathered tensors. */
    private long blobSize() {
        long samples = checkShard();
        long data = 0;
        for (int i = 0; i < tensorCount; i++) {
            data += tensors[i].bytes().length;
        }
        return 8 + padded(headerText(json.measure(), samples, null).pos()) + data;
    }

    /** The tensor blob as a byte array (tools and tests; the producer writes off-heap). */
    static byte[] blob(Map<String, TensorData> tensors) {
        BatchEncoder e = new BatchEncoder(Codec.NONE);
        e.ensureShards(1);
        e.gather(tensors);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(1, e.blobSize()));
            long n = e.writeBlob(s, 0, 0);
            return s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static long padded(long n) {
        return (n + 7) & ~7L;
    }

    /** Validates the gathered tensors; returns their common sample count. */
    private long checkShard() {
        if (tensorCount == 0) {
            throw new IllegalArgumentException("a shard needs at least one tensor");
        }
        long samples = -1;
        for (int i = 0; i < tensorCount; i++) {
            String name = names[i];
            if (name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("invalid tensor name '" + name + "'");
            }
            TensorData t = tensors[i];
            if (samples < 0) {
                samples = t.samples();
            } else if (samples != t.samples()) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + t.samples() + " samples in dimension 0, others have "
                        + samples);
            }
        }
        return samples;
    }

    /**
     * The header JSON (unpadded). With {@code crcAt} non-null, the position where the sample
     * checksums' hex digits start is stored in {@code crcAt[0]} (they are written as zeros and
     * filled in once the data is checksummed).
     */
    private JsonOut headerText(JsonOut j, long samples, long[] crcAt) {
        j.raw('{').key("__metadata__").raw('{').key("format").string("lakestream").raw(',').key("samples").numberString(samples)
                .raw(',').key(TensorBlob.SAMPLE_CRC_KEY).raw('"');
        if (crcAt != null) {
            crcAt[0] = j.pos();
        }
        for (long i = 0; i < samples; i++) {
            j.hex8(0);
        }
        j.raw('"').raw('}');
        long off = 0;
        for (int ti = 0; ti < tensorCount; ti++) {
            TensorData t = tensors[ti];
            j.raw(',').string(names[ti]).raw(':').raw('{').key("dtype").string(t.dtype().name()).raw(',').key("shape").raw('[');
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    j.raw(',');
                }
                j.number(shape[i]);
            }
            j.raw(']').raw(',').key("data_offsets").raw('[').number(off).raw(',');
            off += t.bytes().length;
            j.number(off).raw(']').raw('}');
        }
        return j.raw('}');
    }

    private final long[] crcAt = new long[1];

    /**
     * Writes shard {@code r}'s tensor blob at {@code at} of {@code t}: header, then every row
     * copied and checksummed while hot. Records the shard's samples, header length and CRCs
     * (of the header, and in {@code stored[r]} of the whole blob). Returns its length.
     */
    private long writeBlob(MemorySegment t, long at, int r) {
        long n = checkShard();
        if (n > Integer.MAX_VALUE / 8) {
            throw new IllegalArgumentException("a shard of " + n + " samples is too many for its header");
        }
        int samplesInt = (int) n;
        if (sampleCrc.length < samplesInt) {
            sampleCrc = new long[samplesInt];
        }
        // header with zeroed sample checksums, then the space padding and its length
        JsonOut j = headerText(json.at(t, at + 8), n, crcAt);
        long hdrEnd = j.pos();
        long pad = padded(hdrEnd - at - 8);
        for (long p = hdrEnd; p < at + 8 + pad; p++) {
            t.set(ValueLayout.JAVA_BYTE, p, (byte) ' ');
        }
        t.set(U64, at, pad);
        long dataStart = at + 8 + pad;
        // rows: copy, checksum while hot, combine into per-sample and whole-data checksums
        long pos = dataStart;
        long dataCrc = 0;
        boolean anyData = false;
        boolean firstTensor = true;
        for (int ti = 0; ti < tensorCount; ti++) {
            byte[] src = tensors[ti].bytes();
            int rowLen = samplesInt == 0 ? 0 : src.length / samplesInt;
            Crc32c.Shift rowShift = shift(rowLen);
            for (int i = 0; i < samplesInt; i++) {
                int from = i * rowLen;
                crc.reset();
                for (int done = 0; done < rowLen; done += CHUNK) {
                    int len = Math.min(CHUNK, rowLen - done);
                    MemorySegment.copy(src, from + done, t, ValueLayout.JAVA_BYTE, pos + done, len);
                    crc.update(src, from + done, len);
                }
                long rowCrc = crc.getValue();
                sampleCrc[i] = firstTensor ? rowCrc : rowShift.combine(sampleCrc[i], rowCrc);
                dataCrc = anyData ? rowShift.combine(dataCrc, rowCrc) : rowCrc;
                anyData = true;
                pos += rowLen;
            }
            firstTensor = false;
        }
        long dataLen = pos - dataStart;
        // fill in the sample checksums, then checksum the (small, hot) header
        JsonOut h = json.at(t, crcAt[0]);
        for (int i = 0; i < samplesInt; i++) {
            h.hex8(sampleCrc[i]);
        }
        long hdrLen = 8 + pad;
        crc.reset();
        if (hdrLen <= Integer.MAX_VALUE - 8) {
            if (headerCopy.length < hdrLen) {
                headerCopy = new byte[(int) Math.max(hdrLen, Math.min(Integer.MAX_VALUE - 8, 2 * (long) headerCopy.length))];
            }
            MemorySegment.copy(t, ValueLayout.JAVA_BYTE, at, headerCopy, 0, (int) hdrLen);
            crc.update(headerCopy, 0, (int) hdrLen);
        } else {
            crc.update(t.asSlice(at, hdrLen).asByteBuffer());
        }
        long hCrc = crc.getValue();
        samples[r] = n;
        headerLength[r] = hdrLen;
        headerCrc[r] = hCrc;
        stored[r] = anyData ? shift(dataLen).combine(hCrc, dataCrc) : hCrc;
        return hdrLen + dataLen;
    }

    private Crc32c.Shift shift(long len) {
        for (int i = 0; i < SHIFT_CACHE; i++) {
            if (shiftKeys[i] == len) {
                return shifts[i];
            }
        }
        Crc32c.Shift s = Crc32c.Shift.of(len);
        int slot = shiftNext;
        shiftNext = (slot + 1) % SHIFT_CACHE;
        shiftKeys[slot] = len;
        shifts[slot] = s;
        return s;
    }

    private MemorySegment scratch(long size) {
        if (scratch == null || scratch.byteSize() < size) {
            // grown rarely (shard sizes repeat); the old one is freed by the GC
            scratch = java.lang.foreign.Arena.ofAuto().allocate(Math.max(size, 1L << 16), 64);
        }
        return scratch;
    }

    private void ensureShards(int w) {
        if (offset.length < w) {
            offset = new long[w];
            length = new long[w];
            stored = new long[w];
            rawLength = new long[w];
            samples = new long[w];
            firstSample = new long[w];
            headerLength = new long[w];
            headerCrc = new long[w];
        }
    }
}
