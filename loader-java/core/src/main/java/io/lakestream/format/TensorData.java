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
