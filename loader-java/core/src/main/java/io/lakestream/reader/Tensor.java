package io.lakestream.reader;

import io.lakestream.format.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of a delivered batch: a view on pool memory, valid until the batch is closed
 * (afterwards every access throws {@link IllegalStateException}). Little-endian, row-major.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Copies an I64 tensor out (for small tensors such as record ids). */
    public long[] toLongArray() {
        if (dtype != DType.I64) {
            throw new IllegalStateException("tensor '" + name + "' is " + dtype + ", not I64");
        }
        long[] out = new long[(int) elements()];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.get(I64, 8L * i);
        }
        return out;
    }

    /** Copies an I32 tensor out, or a U16 tensor widened to int (0..65535: token ids). */
    public int[] toIntArray() {
        if (dtype != DType.I32 && dtype != DType.U16) {
            throw new IllegalStateException("tensor '" + name + "' is " + dtype + ", not I32 or U16");
        }
        int[] out = new int[(int) elements()];
        if (dtype == DType.U16) {
            for (int i = 0; i < out.length; i++) {
                out[i] = Short.toUnsignedInt(data.get(U16, 2L * i));
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = data.get(I32, 4L * i);
        }
        return out;
    }

    @Override
    public String toString() {
        return name + ":" + dtype + Arrays.toString(shape);
    }
}
