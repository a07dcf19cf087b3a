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

    /** Values of the base64 alphabet (RFC 4648 table 1) by ASCII code, -1 elsewhere. */
    private static final byte[] VALUE = new byte[128];

    static {
        java.util.Arrays.fill(VALUE, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) {
            VALUE[alphabet.charAt(i)] = (byte) i;
        }
    }

    /**
     * As {@link #decode} of the text {@code buf[off, off + len)}, read straight from a parser's
     * characters (no string, no byte arrays: index segments and versions decode two columns per
     * entry), for canonical text only: padded, and the bits after the last byte zero, as every
     * encoder writes. Null for anything else, including text {@link #decode} would accept (the
     * caller then decodes the string: the two never differ where both answer).
     */
    static int[] decodeCanonical(char[] buf, int off, int len) {
        if (len == 0 || len % 4 != 0) {
            return null;
        }
        int pad = buf[off + len - 1] != '=' ? 0 : buf[off + len - 2] != '=' ? 1 : 2;
        int bytes = len / 4 * 3 - pad;
        if (bytes % 4 != 0) {
            return null;
        }
        int[] v = new int[bytes / 4];
        long acc = 0; // little-endian: byte k of the output is bits [8k, 8k + 8) of value k / 4
        int k = 0;
        for (int i = 0; i < len - pad; i += 4) {
            int quad = 0;
            int chars = Math.min(4, len - pad - i);
            for (int j = 0; j < chars; j++) {
                char c = buf[off + i + j];
                int x = c < 128 ? VALUE[c] : -1;
                if (x < 0) {
                    return null; // '=' inside, or not of the alphabet
                }
                quad |= x << (18 - 6 * j);
            }
            int out = chars == 4 ? 3 : chars - 1; // 2 chars: 1 byte, 3 chars: 2 bytes
            if (chars < 4 && (quad & ((1 << (8 * (3 - out))) - 1)) != 0) {
                return null; // non-zero bits after the last byte: not canonical
            }
            for (int b = 0; b < out; b++, k++) {
                acc |= (long) ((quad >>> (16 - 8 * b)) & 0xFF) << (8 * (k & 3));
                if ((k & 3) == 3) {
                    v[k >>> 2] = (int) acc;
                    acc = 0;
                }
            }
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
