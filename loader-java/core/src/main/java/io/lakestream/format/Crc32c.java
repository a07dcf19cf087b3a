package io.lakestream.format;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/**
 * CRC32C (Castagnoli) over heap or off-heap bytes; the JDK's intrinsic does the work.
 *
 * <p>{@link Shift} combines checksums of adjacent pieces ({@code crc(A ‖ B)} from {@code crc(A)},
 * {@code crc(B)} and {@code |B|}, as zlib's {@code crc32_combine}), so an encoder can checksum
 * each piece once, while it is hot in cache, and still get checksums of larger spans that a
 * header written in front of them depends on.
 */
public final class Crc32c {
    /** The reflected Castagnoli polynomial. */
    private static final int POLY = 0x82F63B78;

    private Crc32c() {}

    public static long of(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return c.getValue();
    }

    public static long of(MemorySegment seg) {
        CRC32C c = PER_THREAD.get(); // reset and reused: a reader checks every shard it reads (issue 23)
        c.reset();
        c.update(seg.asByteBuffer());
        return c.getValue();
    }

    private static final ThreadLocal<CRC32C> PER_THREAD = ThreadLocal.withInitial(CRC32C::new);

    /** {@code crc(A ‖ B)} from {@code crc(A)}, {@code crc(B)} and {@code |B|}. Builds the operator each call: cache a {@link Shift}. */
    public static long combine(long crcA, long crcB, long lengthB) {
        return Shift.of(lengthB).combine(crcA, crcB);
    }

    /**
     * The linear operator "append {@code n} bytes" on CRC32C values, as a 32×32 matrix over GF(2):
     * {@code crc(A ‖ B) = shift_{|B|}(crc(A)) ^ crc(B)}. Building one costs O(log n) matrix
     * products; applying it is 32 XORs at most. Immutable.
     */
    public static final class Shift {
        private final long length;
        private final int[] matrix;

        private Shift(long length, int[] matrix) {
            this.length = length;
            this.matrix = matrix;
        }

        public long length() {
            return length;
        }

        /** The operator for {@code n} appended bytes. */
        public static Shift of(long n) {
            if (n < 0) {
                throw new IllegalArgumentException("negative length " + n);
            }
            // power = the operator for one zero byte (8 zero bits), squared as n's bits are walked
            int[] bit = new int[32];
            bit[0] = POLY;
            for (int i = 1, row = 1; i < 32; i++, row <<= 1) {
                bit[i] = row;
            }
            int[] power = square(square(square(bit))); // 2, 4, 8 zero bits = one byte
            int[] result = null;
            for (long m = n; m != 0; m >>>= 1) {
                if ((m & 1) != 0) {
                    result = result == null ? power.clone() : product(power, result);
                }
                if ((m >>> 1) != 0) {
                    power = square(power);
                }
            }
            if (result == null) { // n == 0: identity
                result = new int[32];
                for (int i = 0; i < 32; i++) {
                    result[i] = 1 << i;
                }
            }
            return new Shift(n, result);
        }

        /** {@code crc(A ‖ B)}, where this operator's length is {@code |B|}. */
        public long combine(long crcA, long crcB) {
            return (times(matrix, (int) crcA) ^ (int) crcB) & 0xFFFF_FFFFL;
        }

        private static int times(int[] mat, int vec) {
            int sum = 0;
            for (int i = 0; vec != 0; i++, vec >>>= 1) {
                if ((vec & 1) != 0) {
                    sum ^= mat[i];
                }
            }
            return sum;
        }

        private static int[] square(int[] mat) {
            return product(mat, mat);
        }

        /** The operator "apply {@code b}, then {@code a}". */
        private static int[] product(int[] a, int[] b) {
            int[] out = new int[32];
            for (int i = 0; i < 32; i++) {
                out[i] = times(a, b[i]);
            }
            return out;
        }
    }
}
