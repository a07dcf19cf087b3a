package io.lakestream.python;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class PyBridgeTest {
    @Test
    void copiesNativeMemoryIntoTensorData() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(24);
            for (int i = 0; i < 6; i++) {
                m.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), i, 10 + i);
            }
            TensorData t = PyBridge.tensorFromAddress("I32", new long[] {2, 3}, m.address(), 24);
            assertEquals(DType.I32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(TensorData.ofInts(new int[] {10, 11, 12, 13, 14, 15}, 2, 3).bytes(), t.bytes());
            m.set(ValueLayout.JAVA_BYTE, 0, (byte) 99);
            assertEquals(10, t.bytes()[0], "a copy, not a view");
        }
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> PyBridge.tensorFromAddress("I32", new long[] {2}, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> PyBridge.tensorFromAddress("I32", new long[] {3}, 0, 0));
        assertThrows(RuntimeException.class, () -> PyBridge.tensorFromAddress("X9", new long[] {0}, 0, 0));
        assertEquals(0, PyBridge.tensorFromAddress("F32", new long[] {4, 0}, 0, 0).bytes().length);
    }
}
