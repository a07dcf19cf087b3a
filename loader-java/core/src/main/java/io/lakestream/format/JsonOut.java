package io.lakestream.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Writes JSON text straight into off-heap memory, byte for byte as the format's Jackson mapper
 * writes it (no whitespace; strings escaped as Jackson does: {@code \" \\ \b \t \n \f \r}, other
 * control characters as a six-character unicode escape, everything else as UTF-8). The encoder's hot path uses it
 * so that headers and footers cost no heap garbage; {@link #measure} sizes the same text first.
 * A cursor over one segment, reused: not thread-safe.
 */
final class JsonOut {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private MemorySegment seg;
    private long pos;
    /** When true only {@link #pos} advances: the same calls measure the text. */
    private boolean measuring;

    /** Starts writing at {@code at} in {@code segment}. */
    JsonOut at(MemorySegment segment, long at) {
        this.seg = segment;
        this.pos = at;
        this.measuring = false;
        return this;
    }

    /** Starts measuring (nothing is written; {@link #pos()} counts bytes from 0). */
    JsonOut measure() {
        this.seg = null;
        this.pos = 0;
        this.measuring = true;
        return this;
    }

    long pos() {
        return pos;
    }

    JsonOut raw(char c) {
        if (!measuring) {
            seg.set(ValueLayout.JAVA_BYTE, pos, (byte) c);
        }
        pos++;
        return this;
    }

    /** ASCII text known to need no escaping (keys, punctuation). */
    JsonOut ascii(String s) {
        int n = s.length();
        if (!measuring) {
            for (int i = 0; i < n; i++) {
                seg.set(ValueLayout.JAVA_BYTE, pos + i, (byte) s.charAt(i));
            }
        }
        pos += n;
        return this;
    }

    /** {@code "key":} */
    JsonOut key(String k) {
        return raw('"').ascii(k).raw('"').raw(':');
    }

    JsonOut number(long v) {
        if (v == Long.MIN_VALUE) {
            return ascii("-9223372036854775808");
        }
        if (v < 0) {
            raw('-');
            v = -v;
        }
        int digits = digits(v);
        if (!measuring) {
            long p = pos + digits;
            do {
                seg.set(ValueLayout.JAVA_BYTE, --p, (byte) ('0' + (int) (v % 10)));
                v /= 10;
            } while (v != 0);
        }
        pos += digits;
        return this;
    }

    /** A decimal number as a JSON string ({@code "123"}), as safetensors metadata values are. */
    JsonOut numberString(long v) {
        return raw('"').number(v).raw('"');
    }

    /** 8 lowercase hex digits of an unsigned 32-bit value, no quotes. */
    JsonOut hex8(long v) {
        if (!measuring) {
            for (int i = 7; i >= 0; i--) {
                seg.set(ValueLayout.JAVA_BYTE, pos + i, HEX[(int) (v & 0xF)]);
                v >>>= 4;
            }
        }
        pos += 8;
        return this;
    }

    /** A JSON string, escaped as Jackson escapes it. */
    JsonOut string(String s) {
        raw('"');
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // Rare (tensor names, metadata): encode the rest through the JDK's UTF-8 encoder.
                utf8(s.substring(i));
                break;
            }
            escaped(c);
        }
        return raw('"');
    }

    private void escaped(char c) {
        switch (c) {
            case '"' -> raw('\\').raw('"');
            case '\\' -> raw('\\').raw('\\');
            case '\b' -> raw('\\').raw('b');
            case '\t' -> raw('\\').raw('t');
            case '\n' -> raw('\\').raw('n');
            case '\f' -> raw('\\').raw('f');
            case '\r' -> raw('\\').raw('r');
            default -> {
                if (c < 0x20) {
                    ascii("\\u00").raw((char) HEX[c >> 4]).raw((char) HEX[c & 0xF]);
                } else {
                    raw(c);
                }
            }
        }
    }

    private void utf8(String rest) {
        for (int i = 0; i < rest.length(); ) {
            int cp = rest.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0x80) {
                escaped((char) cp);
                continue;
            }
            byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
            for (byte x : b) {
                if (!measuring) {
                    seg.set(ValueLayout.JAVA_BYTE, pos, x);
                }
                pos++;
            }
        }
    }

    static int digits(long v) {
        int d = 1;
        while (v >= 10) {
            v /= 10;
            d++;
        }
        return d;
    }
}
