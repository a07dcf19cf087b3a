package io.lakestream.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One rank shard as a safetensors-compatible blob: an 8-byte little-endian header length N,
 * N bytes of JSON header (padded with spaces to a multiple of 8), then the tensors' bytes back
 * to back with no holes. Any safetensors reader can open a decoded shard.
 */
public final class TensorBlob {
    static final long MAX_HEADER = 16L << 20;
    /**
     * Metadata key of the per-sample checksums: 8 lowercase hex digits per sample, the CRC32C of
     * sample i's rows of every tensor in data order. They let a reader that fetches only some
     * samples of a shard (another world size) verify what it read.
     */
    public static final String SAMPLE_CRC_KEY = "sample_crc32c";
    private static final byte[] SAMPLE_CRC_PATTERN = ("\"" + SAMPLE_CRC_KEY + "\":\"").getBytes(StandardCharsets.US_ASCII);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private TensorBlob() {}

    /** One tensor inside a decoded blob: a bounded view on the blob's memory. */
    public record View(String name, DType dtype, long[] shape, MemorySegment data) {}

    /** Encodes tensors (iteration order is storage order); all must agree on dimension 0. */
    public static byte[] encode(Map<String, TensorData> tensors) {
        return BatchEncoder.blob(tensors);
    }

    /**
     * A parsed and validated header: what every step of a stream with fixed batch shapes repeats
     * byte for byte. Immutable, so fetch threads share it without locking.
     */
    private record Layout(byte[] header, MemorySegment headerSegment, long dataLen, String[] names, DType[] dtypes,
                          long[][] shapes, long[] begins, long[] ends, int crcFrom, int crcTo) {
        /**
         * Does the header at {@code blob[8, 8+n)} equal this one, except for the per-sample
         * checksums (which differ from shard to shard; the read path has the shard's own CRC)?
         */
        boolean matches(MemorySegment blob, long n, long dataLen) {
            if (header.length != n || this.dataLen != dataLen) {
                return false;
            }
            if (crcFrom < 0) {
                return MemorySegment.mismatch(blob, 8, 8 + n, headerSegment, 0, n) == -1;
            }
            return MemorySegment.mismatch(blob, 8, 8 + crcFrom, headerSegment, 0, crcFrom) == -1
                    && MemorySegment.mismatch(blob, 8 + crcTo, 8 + n, headerSegment, crcTo, n) == -1;
        }
    }

    /**
     * Parses a decoded blob in place: the returned views alias {@code blob}'s memory. Parses the
     * header every time; a reader of many blobs uses a {@link Parser}, which remembers the last one.
     *
     * @param where names the object, step and rank for error messages
     */
    public static List<View> parse(MemorySegment blob, String where) {
        return new Parser().parse(blob, where);
    }

    /**
     * Parses blobs, remembering the last header (one entry: a reader sees one stream, whose
     * shapes rarely change). A hit costs one byte comparison of the header and skips the JSON
     * parse, which otherwise allocates a few KiB per batch. Thread-safe: one per reader.
     */
    public static final class Parser {
        private volatile Layout lastLayout;

        /** As {@link TensorBlob#parse}. */
        public List<View> parse(MemorySegment blob, String where) {
            return parse(blob, where, View::new);
        }

        /**
         * As {@link #parse(MemorySegment, String)}, each tensor built by {@code make} straight
         * from the header (no views, no list in between: a reader does this for every step it
         * reads, issue 23). Each gets a fresh shape array, which it may keep or change.
         */
        public <T> List<T> parse(MemorySegment blob, String where, TensorMaker<T> make) {
            long size = blob.byteSize();
            if (size < 8) {
                throw new FormatException(where + ": tensor blob of " + size + " bytes is shorter than its 8-byte header length");
            }
            long n = blob.get(U64, 0);
            if (n < 2 || n > MAX_HEADER || n > size - 8) {
                throw new FormatException(where + ": tensor blob header length " + n + " is invalid for a blob of " + size + " bytes");
            }
            long dataStart = 8 + n;
            long dataLen = size - dataStart;
            Layout layout = lastLayout;
            if (layout == null || !layout.matches(blob, n, dataLen)) {
                layout = parseHeader(blob, n, dataLen, where);
                lastLayout = layout;
            }
            int count = layout.names.length;
            if (count == 1) {
                return List.of(make(layout, 0, blob, dataStart, make));
            }
            if (count == 2) {
                return List.of(make(layout, 0, blob, dataStart, make), make(layout, 1, blob, dataStart, make));
            }
            Object[] out = new Object[count];
            for (int i = 0; i < count; i++) {
                out[i] = make(layout, i, blob, dataStart, make);
            }
            @SuppressWarnings("unchecked")
            List<T> list = (List<T>) List.of(out);
            return list;
        }

        private static <T> T make(Layout layout, int i, MemorySegment blob, long dataStart, TensorMaker<T> make) {
            // A fresh shape array per tensor: callers may keep or change it without touching the cache.
            return make.make(layout.names[i], layout.dtypes[i], layout.shapes[i].clone(),
                    blob.asSlice(dataStart + layout.begins[i], layout.ends[i] - layout.begins[i]));
        }
    }

    /** Builds the caller's object for one tensor of a parsed blob ({@link Parser#parse(MemorySegment, String, TensorMaker)}). */
    @FunctionalInterface
    public interface TensorMaker<T> {
        T make(String name, DType dtype, long[] shape, MemorySegment data);
    }

    /** The JSON path: parses and validates a header against a data section of {@code dataLen} bytes. */
    private static Layout parseHeader(MemorySegment blob, long n, long dataLen, String where) {
        byte[] hb = new byte[(int) n];
        MemorySegment.copy(blob, ValueLayout.JAVA_BYTE, 8, hb, 0, (int) n);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(hb);
        } catch (java.io.IOException e) {
            throw new FormatException(where + ": malformed tensor blob header: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (header == null || !header.isObject()) {
            throw new FormatException(where + ": tensor blob header is not a JSON object");
        }
        List<String> names = new ArrayList<>(header.size());
        List<DType> dtypes = new ArrayList<>(header.size());
        List<long[]> shapes = new ArrayList<>(header.size());
        List<long[]> ranges = new ArrayList<>(header.size());
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            String tw = where + ", tensor '" + e.getKey() + "'";
            JsonNode t = e.getValue();
            DType dt = DType.parse(t.path("dtype").asText(null), tw);
            JsonNode shapeNode = t.path("shape");
            JsonNode offsNode = t.path("data_offsets");
            if (!shapeNode.isArray() || !offsNode.isArray() || offsNode.size() != 2) {
                throw new FormatException(tw + ": header entry needs 'shape' and two 'data_offsets'");
            }
            long[] shape = new long[shapeNode.size()];
            if (shape.length == 0) {
                throw new FormatException(tw + ": a shard tensor needs at least one dimension (dimension 0 counts samples)");
            }
            long bytes;
            try {
                long elems = 1;
                for (int i = 0; i < shape.length; i++) {
                    JsonNode d = shapeNode.get(i);
                    shape[i] = d.canConvertToExactIntegral() && d.canConvertToLong() ? d.asLong() : -1;
                    if (shape[i] < 0) {
                        throw new FormatException(tw + ": dimension " + i + " is " + d + ", not a non-negative integer");
                    }
                    elems = Math.multiplyExact(elems, shape[i]);
                }
                bytes = Math.multiplyExact(elems, (long) dt.size());
            } catch (ArithmeticException overflow) {
                throw new FormatException(tw + ": shape " + shapeNode + " of " + dt + " needs more than 2^63 bytes");
            }
            long begin = offsNode.get(0).canConvertToLong() ? offsNode.get(0).asLong(-1) : -1;
            long end = offsNode.get(1).canConvertToLong() ? offsNode.get(1).asLong(-1) : -1;
            if (begin < 0 || end < begin || end > dataLen) {
                throw new FormatException(tw + ": data_offsets [" + begin + ", " + end + ") outside the " + dataLen + " data bytes");
            }
            if (end - begin != bytes) {
                throw new FormatException(tw + ": data_offsets span " + (end - begin) + " bytes but shape needs " + bytes);
            }
            names.add(e.getKey());
            dtypes.add(dt);
            shapes.add(shape);
            ranges.add(new long[] {begin, end});
        }
        // The tensors must tile the data section exactly: sorted by offset, each starts where the
        // previous one ends, the first at 0 and the last at the end. (A byte count alone would let
        // an overlap hide a hole of the same size.)
        List<long[]> sorted = new ArrayList<>(ranges);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        long at = 0;
        for (long[] r : sorted) {
            if (r[0] != at) {
                String name = names.get(ranges.indexOf(r));
                throw new FormatException(where + ": tensor '" + name + "' starts at data byte " + r[0] + " but the previous tensor"
                        + " ends at " + at + (r[0] < at ? " (tensors overlap)" : " (a hole)"));
            }
            at = r[1];
        }
        if (at != dataLen) {
            throw new FormatException(where + ": tensors cover " + at + " of " + dataLen + " data bytes (trailing bytes)");
        }
        int k = names.size();
        long[] begins = new long[k];
        long[] ends = new long[k];
        for (int i = 0; i < k; i++) {
            begins[i] = ranges.get(i)[0];
            ends[i] = ranges.get(i)[1];
        }
        int crcFrom = indexOf(hb, SAMPLE_CRC_PATTERN);
        int crcTo = -1;
        if (crcFrom >= 0) {
            crcFrom += SAMPLE_CRC_PATTERN.length;
            crcTo = crcFrom;
            while (crcTo < hb.length && hb[crcTo] != '"') {
                crcTo++;
            }
        }
        return new Layout(hb, MemorySegment.ofArray(hb), dataLen, names.toArray(String[]::new), dtypes.toArray(DType[]::new),
                shapes.toArray(long[][]::new), begins, ends, crcFrom, crcTo);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * A blob's header without its data: tensor names, dtypes, shapes, data offsets (relative to
     * the data section) and the per-sample checksums (null when the writer did not record them).
     */
    public record Header(long headerLength, String[] names, DType[] dtypes, long[][] shapes, long[] begins, long[] ends,
                         long[] sampleCrcs) {
        /** Bytes of one sample (one row along dimension 0) of tensor {@code t}. */
        public long rowBytes(int t) {
            long samples = shapes[t][0];
            return samples == 0 ? rowBytesOfShape(shapes[t], dtypes[t]) : (ends[t] - begins[t]) / samples;
        }

        private static long rowBytesOfShape(long[] shape, DType d) {
            long n = d.size();
            for (int i = 1; i < shape.length; i++) {
                n *= shape[i];
            }
            return n;
        }
    }

    /**
     * Parses and validates the header at the start of {@code prefix} (at least its first
     * {@code 8 + N} bytes) of a blob whose data section is {@code dataLen} bytes.
     */
    public static Header readHeader(MemorySegment prefix, long dataLen, String where) {
        if (prefix.byteSize() < 8) {
            throw new FormatException(where + ": tensor blob header of " + prefix.byteSize() + " bytes is shorter than 8");
        }
        long n = prefix.get(U64, 0);
        if (n < 2 || n > MAX_HEADER || n > prefix.byteSize() - 8) {
            throw new FormatException(where + ": tensor blob header length " + n + " is invalid for a header of "
                    + prefix.byteSize() + " bytes");
        }
        Layout l = parseHeader(prefix, n, dataLen, where);
        long[] crcs = null;
        if (l.crcFrom >= 0) {
            int len = l.crcTo - l.crcFrom;
            long samples = l.names.length == 0 ? 0 : l.shapes[0][0];
            if (len != 8 * samples) {
                throw new FormatException(where + ": " + SAMPLE_CRC_KEY + " has " + len + " hex digits for " + samples + " samples");
            }
            crcs = new long[(int) samples];
            for (int i = 0; i < crcs.length; i++) {
                try {
                    crcs[i] = Long.parseLong(new String(l.header, l.crcFrom + 8 * i, 8, StandardCharsets.US_ASCII), 16);
                } catch (NumberFormatException e) {
                    throw new FormatException(where + ": " + SAMPLE_CRC_KEY + " is not hexadecimal");
                }
            }
        }
        return new Header(8 + n, l.names.clone(), l.dtypes.clone(), deepClone(l.shapes), l.begins.clone(), l.ends.clone(), crcs);
    }

    /** {@link #readHeader(MemorySegment, long, String)} of a whole decoded blob. */
    public static Header readHeader(MemorySegment blob, String where) {
        long n = blob.byteSize() < 8 ? 0 : blob.get(U64, 0);
        return readHeader(blob, n < 0 || n > blob.byteSize() - 8 ? 0 : blob.byteSize() - 8 - n, where);
    }

    private static long[][] deepClone(long[][] a) {
        long[][] out = new long[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }

    /** The data section of a blob (all tensors' bytes, in storage order). */
    public static MemorySegment dataSection(MemorySegment blob) {
        long n = blob.get(U64, 0);
        return blob.asSlice(8 + n);
    }
}
