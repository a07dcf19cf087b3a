package io.lakestream.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor to write: dtype, shape, and its little-endian bytes. Dimension 0 is the sample
 * dimension: sample {@code i} is the {@code i}-th slice along it.
 */
public record TensorData(DType dtype, long[] shape, byte[] bytes) {
    public TensorData {
        if (shape.length == 0) {
            throw new IllegalArgumentException("tensor needs at least one dimension (the sample dimension)");
        }
        long n = dtype.size();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n != bytes.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs " + n
                    + " bytes, got " + bytes.length);
        }
    }

    public long samples() {
        return shape[0];
    }

    public static TensorData ofInts(int[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return new TensorData(DType.I32, shape, b.array());
    }

    /**
     * A U16 tensor (token ids of a vocabulary under 65,536) from ints; each value must lie in
     * 0..65535, else the exception names the first one that does not.
     */
    public static TensorData ofU16(int[] values, long... shape) {
        byte[] b = new byte[values.length * 2];
        for (int i = 0; i < values.length; i++) {
            int v = values[i];
            if (v < 0 || v > 0xFFFF) {
                throw new IllegalArgumentException("value " + v + " at index " + i + " does not fit U16 (0..65535)");
            }
            b[2 * i] = (byte) v;
            b[2 * i + 1] = (byte) (v >>> 8);
        }
        return new TensorData(DType.U16, shape, b);
    }

    public static TensorData ofLongs(long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new TensorData(DType.I64, shape, b.array());
    }

    public static TensorData ofFloats(float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new TensorData(DType.F32, shape, b.array());
    }
}
