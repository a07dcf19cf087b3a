package io.lakestream.format;

import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Base64;

/**
 * The text form of a column of u32s in the shard table (docs/format.md §4.2): base64 (RFC 4648,
 * padded, no line breaks) of the values as little-endian 4-byte integers.
 */
final class U32Base64 {
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private U32Base64() {}

    static String encode(int[] v) {
        return Base64.getEncoder().encodeToString(bytes(v));
    }

    /**
     * The little-endian bytes of the columns being written, one growable array per thread
     * (entries are written for every version, snapshot and index segment: no array per column).
     */
    private static final ThreadLocal<byte[][]> SCRATCH = ThreadLocal.withInitial(() -> new byte[][] {new byte[256]});

    /** As {@link #encode}, written straight into the generator (no string, and no array per call). */
    static void write(JsonGenerator g, int[] v) throws IOException {
        int n = 4 * v.length;
        byte[][] holder = SCRATCH.get();
        byte[] b = holder[0];
        if (b.length < n) {
            b = new byte[Math.max(n, 2 * b.length)];
            holder[0] = b;
        }
        for (int i = 0; i < v.length; i++) {
            LE_INT.set(b, 4 * i, v[i]);
        }
        g.writeBinary(Base64Variants.MIME_NO_LINEFEEDS, b, 0, n);
    }

    /** The u32s of base64 text, or null if it is not padded base64 of a multiple of 4 bytes. */
    static int[] decode(String s) {
        if (s.length() % 4 != 0) {
            return null; // base64 with padding (RFC 4648 §4) only: the JDK decoder would also take it unpadded
        }
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (raw.length % 4 != 0) {
            return null;
        }
        int[] v = new int[raw.length / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = (int) LE_INT.get(raw, 4 * i);
        }
        return v;
    }

    private static byte[] bytes(int[] v) {
        byte[] b = new byte[4 * v.length];
        for (int i = 0; i < v.length; i++) {
            LE_INT.set(b, 4 * i, v[i]);
        }
        return b;
    }
}
