package io.lakestream.format;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/** CRC32C (Castagnoli) over heap or off-heap bytes; the JDK's intrinsic does the work. */
public final class Crc32c {
    private Crc32c() {}

    public static long of(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return c.getValue();
    }

    public static long of(MemorySegment seg) {
        CRC32C c = new CRC32C();
        c.update(seg.asByteBuffer());
        return c.getValue();
    }
}
