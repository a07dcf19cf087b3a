package io.lakestream.python;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.memory.Pinner;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.store.FileStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-call-per-step descriptor the Python binding reads, checked against the StepBatch it describes. */
class PyReaderTest {
    @TempDir
    Path dir;

    /** The descriptor parsed the way python-bindings/src/lakestream/reader.py parses it. */
    private record Parsed(long handle, long step, long rank, long samples, long pinMode, long fetched, long delivered,
                          long address, long layoutId, List<String> names, List<String> dtypes, List<long[]> shapes,
                          long[] offsets, long[] lengths) {}

    private static Parsed parse(long address, long words) {
        MemorySegment d = MemorySegment.ofAddress(address).reinterpret(Math.abs(words) * 8);
        long[] w = d.toArray(ValueLayout.JAVA_LONG);
        assertEquals(PyReader.FORMAT, w[0]);
        int t = (int) w[9];
        long[] offsets = new long[t];
        long[] lengths = new long[t];
        for (int i = 0; i < t; i++) {
            offsets[i] = w[12 + 2 * i];
            lengths[i] = w[13 + 2 * i];
        }
        int at = 12 + 2 * t;
        String[] dtypeNames = PyReader.dtypeNames();
        List<String> dtypes = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        int[] nameLengths = new int[t];
        for (int i = 0; i < t; i++) {
            dtypes.add(dtypeNames[(int) w[at++]]);
            int ndim = (int) w[at++];
            long[] shape = new long[ndim];
            for (int k = 0; k < ndim; k++) {
                shape[k] = w[at++];
            }
            shapes.add(shape);
            nameLengths[i] = (int) w[at++];
        }
        long byteAt = at * 8L;
        List<String> names = new ArrayList<>();
        for (int len : nameLengths) {
            byte[] b = d.asSlice(byteAt, len).toArray(ValueLayout.JAVA_BYTE);
            names.add(new String(b, StandardCharsets.UTF_8));
            byteAt += len;
        }
        assertTrue(byteAt <= Math.abs(words) * 8);
        assertEquals(12 + 2L * t + w[11], Math.abs(words));
        return new Parsed(w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[10], names, dtypes, shapes, offsets, lengths);
    }

    private void write(FileStore store, int world, int[] samplesPerStep, int extraTensors) {
        try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(world), ProducerOptions.defaults())) {
            long rid = 0;
            for (int samples : samplesPerStep) {
                List<Map<String, TensorData>> shards = new ArrayList<>();
                for (int r = 0; r < world; r++) {
                    Map<String, TensorData> shard = new LinkedHashMap<>();
                    long[] ids = new long[samples];
                    float[] f = new float[samples * 3];
                    for (int i = 0; i < samples; i++) {
                        ids[i] = rid++;
                        for (int j = 0; j < 3; j++) {
                            f[i * 3 + j] = ids[i] + j / 4f;
                        }
                    }
                    shard.put("record_id", TensorData.ofLongs(ids, samples));
                    shard.put("größe", TensorData.ofFloats(f, samples, 3));
                    for (int x = 0; x < extraTensors; x++) {
                        shard.put("extra_tensor_with_a_long_name_" + x, TensorData.ofLongs(ids, samples));
                    }
                    shards.add(shard);
                }
                p.append(shards, String.valueOf(rid));
            }
            p.commit();
        }
    }

    @Test
    void oneCallDescribesTheWholeStepAndReleaseReturnsTheSlab() {
        FileStore store = FileStore.open(dir, true);
        write(store, 2, new int[] {4, 4, 4, 3}, 0);
        try (PyReader r = PyReader.open(store, 1, 2, 0, 2, 1)) {
            long layout = -1;
            for (int step = 0; step < 4; step++) {
                long words = r.next(10_000);
                Parsed p = parse(r.descriptorAddress(), words);
                StepBatch b = r.batch(p.handle());
                assertEquals(step, p.step());
                assertEquals(b.step(), p.step());
                assertEquals(1, p.rank());
                assertEquals(b.samples(), p.samples());
                assertEquals(b.lease().pinMode(), Pinner.Mode.values()[(int) (2 - p.pinMode())]); // CUDA=2, MLOCK=1, NONE=0
                assertEquals(b.bytesFetched(), p.fetched());
                assertEquals(b.bytesDelivered(), p.delivered());
                assertEquals(b.address(), p.address());
                assertEquals(List.of("record_id", "größe"), p.names());
                for (int i = 0; i < p.names().size(); i++) {
                    Tensor t = b.tensor(p.names().get(i));
                    assertEquals(t.dtype().name(), p.dtypes().get(i));
                    assertArrayEquals(t.shape(), p.shapes().get(i));
                    assertEquals(t.data().address(), p.address() + p.offsets()[i]);
                    assertEquals(t.data().byteSize(), p.lengths()[i]);
                }
                assertEquals(DType.F32.name(), p.dtypes().get(1));
                if (step == 1 || step == 2) {
                    assertEquals(layout, p.layoutId(), "same names, dtypes and shapes: same layout id");
                } else if (step == 3) {
                    assertNotEquals(layout, p.layoutId(), "3 samples instead of 4: a new layout id");
                }
                layout = p.layoutId();
                // Python gets raw addresses, which no Java scope guards: no per-step scope (and handshake) to pay for
                assertFalse(b.lease().checked());
                r.release(p.handle());
                assertNull(r.batch(p.handle()));
                assertTrue(b.lease().isClosed(), "released at once: the slab went back to the pool");
                r.release(p.handle()); // idempotent
            }
            assertEquals(0, r.openSteps());
            assertEquals(4, r.nextStep());
        }
    }

    @Test
    void releaseAfterCudaStreamsOfAHostSlabReleasesAtOnce() {
        // Off CUDA (MLOCK/NONE) CUDA stages a copy before cudaMemcpyAsync returns: nothing to wait for.
        FileStore store = FileStore.open(dir, true);
        write(store, 1, new int[] {2, 2}, 0);
        try (PyReader r = PyReader.open(store, 0, 1, 0, 1, 1)) {
            Parsed p = parse(r.descriptorAddress(), r.next(10_000));
            StepBatch b = r.batch(p.handle());
            if (b.lease().pinMode() == Pinner.Mode.CUDA) {
                r.release(p.handle());
                return; // a GPU machine: python-bindings/tests/test_cuda_slab_reuse.py covers it
            }
            r.releaseAfter(p.handle(), new long[] {0L, 7L});
            assertTrue(b.lease().isClosed());
            assertNull(r.batch(p.handle()));
        }
    }

    @Test
    void aDescriptorLargerThanTheBufferMovesItAndSaysSo() {
        FileStore store = FileStore.open(dir, true);
        write(store, 1, new int[] {2, 2}, 300);
        try (PyReader r = PyReader.open(store, 0, 1, 0, 2, 1)) {
            long before = r.descriptorAddress();
            long words = r.next(10_000);
            assertTrue(words < 0, "a moved buffer is reported with a negative length");
            assertNotEquals(before, r.descriptorAddress());
            Parsed p = parse(r.descriptorAddress(), words);
            assertEquals(302, p.names().size());
            assertEquals("extra_tensor_with_a_long_name_299", p.names().get(301));
            r.release(p.handle());
            long again = r.next(10_000);
            assertTrue(again > 0, "same size fits the moved buffer");
            r.release(parse(r.descriptorAddress(), again).handle());
        }
    }

    @Test
    void stridedReaderDescribesOnlyItsOwnSteps() {
        FileStore store = FileStore.open(dir, true);
        write(store, 1, new int[] {1, 1, 1, 1, 1, 1, 1}, 0);
        try (PyReader r = PyReader.open(store, 0, 1, 1, 2, 3)) {
            List<Long> steps = new ArrayList<>();
            long fetched = 0;
            for (int i = 0; i < 2; i++) {
                Parsed p = parse(r.descriptorAddress(), r.next(10_000));
                steps.add(p.step());
                fetched += p.fetched();
                r.release(p.handle());
            }
            assertEquals(List.of(1L, 4L), steps);
            assertEquals(7, r.nextStep());
            assertEquals(fetched, r.bytesRead(), "only the two own steps were read from the store");
        }
    }
}
