package io.lakestream.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * An LZ4-coded shard: 4 bytes magic "LSZ4", 8 bytes little-endian decoded length, then one LZ4
 * block (the LZ4 block format, no LZ4 frame format) holding the whole safetensors blob.
 */
public final class Lz4Frames {
    public static final int HEADER = 12;
    private static final int MAGIC = 0x345a534c; // "LSZ4" read little-endian
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();

    private Lz4Frames() {}

    public static byte[] encode(byte[] raw) {
        LZ4Compressor c = FACTORY.fastCompressor();
        byte[] out = new byte[HEADER + c.maxCompressedLength(raw.length)];
        ByteBuffer h = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(MAGIC).putLong(raw.length);
        int n = c.compress(raw, 0, raw.length, out, HEADER, out.length - HEADER);
        return java.util.Arrays.copyOf(out, HEADER + n);
    }

    /** Decoded length announced by a frame, checked against what the manifest expects. */
    public static long decodedLength(MemorySegment frame, String where) {
        if (frame.byteSize() < HEADER || frame.get(I32, 0) != MAGIC) {
            throw new FormatException(where + ": not an LZ4 shard frame (bad magic)");
        }
        return frame.get(I64, 4);
    }

    /** Decodes {@code frame} into {@code dst}, which must be exactly the decoded length. */
    public static void decode(MemorySegment frame, MemorySegment dst, String where) {
        long n = decodedLength(frame, where);
        if (n != dst.byteSize()) {
            throw new FormatException(where + ": LZ4 frame decodes to " + n + " bytes, manifest says " + dst.byteSize());
        }
        LZ4SafeDecompressor d = FACTORY.safeDecompressor();
        ByteBuffer src = frame.asSlice(HEADER).asByteBuffer();
        ByteBuffer out = dst.asByteBuffer();
        try {
            d.decompress(src, out);
        } catch (LZ4Exception e) {
            throw new FormatException(where + ": corrupt LZ4 block: " + e.getMessage(), e);
        }
        if (out.position() != n) {
            throw new FormatException(where + ": LZ4 block decoded to " + out.position() + " bytes, frame says " + n);
        }
    }
}
