package io.lakestream.python;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Helpers for the Python binding (python-bindings/, through JPype): bulk operations that are
 * slow when done element by element across JNI.
 */
public final class PyBridge {
    private PyBridge() {}

    /**
     * A tensor to write whose bytes are copied, in one bulk copy, from {@code nbytes} of native
     * memory at {@code address} (the buffer of a C-contiguous little-endian NumPy array, which the
     * caller keeps alive during the call).
     */
    public static TensorData tensorFromAddress(String dtype, long[] shape, long address, long nbytes) {
        if (nbytes < 0 || nbytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + nbytes + " bytes does not fit one shard (at most "
                    + (Integer.MAX_VALUE - 8) + " bytes)");
        }
        DType t = DType.parse(dtype, "tensor");
        byte[] bytes = new byte[(int) nbytes];
        if (nbytes > 0) {
            if (address == 0) {
                throw new IllegalArgumentException("null address for a tensor of " + nbytes + " bytes");
            }
            MemorySegment src = MemorySegment.ofAddress(address).reinterpret(nbytes);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, 0, bytes, 0, (int) nbytes);
        }
        return new TensorData(t, shape, bytes);
    }

    /**
     * A segment on {@code nbytes} of native memory at {@code address} (e.g. a NumPy array's
     * buffer), for passing Python memory to Java APIs that take a {@link MemorySegment}. JPype
     * cannot call {@code reinterpret} itself (it reflects on the JDK-internal implementation
     * class). The caller keeps the memory alive while Java uses the segment.
     */
    public static MemorySegment segment(long address, long nbytes) {
        if (address == 0 || nbytes < 0) {
            throw new IllegalArgumentException("no native memory at address " + address + " (" + nbytes + " bytes)");
        }
        return MemorySegment.ofAddress(address).reinterpret(nbytes);
    }
}
