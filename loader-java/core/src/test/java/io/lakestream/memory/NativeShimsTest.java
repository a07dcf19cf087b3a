package io.lakestream.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The real gcc-built libls_shims.so, loaded from the native-shims jar on the test class path. */
class NativeShimsTest {
    private static final boolean MLOCK_DISABLED = System.getenv("LS_SHIMS_DISABLE_MLOCK") != null;

    @Test
    void loadsFromTheNativeShimsJar() {
        NativeShims s = NativeShims.get().orElseThrow(() -> new AssertionError("shim did not load: " + NativeShims.unavailableReason()));
        assertEquals(null, NativeShims.unavailableReason());
        assertTrue(s.version() >= 1);
        assertEquals(Path.of(NativeShims.RESOURCE), s.source());
        assertFalse(s.modeReason().isBlank());
        assertInstanceOf(ShimPinner.class, Pinners.defaultPinner());
        assertTrue(Pinners.describe().startsWith(s.preferredMode().name()), Pinners.describe());
    }

    @Test
    void prefersCudaWhenPresentElseMlock() {
        NativeShims s = NativeShims.require();
        Pinner.Mode expected = s.cudaAvailable() ? Pinner.Mode.CUDA : MLOCK_DISABLED ? Pinner.Mode.NONE : Pinner.Mode.MLOCK;
        assertEquals(expected, s.preferredMode(), s.modeReason());
    }

    @Test
    void pinsAndUnpinsASlab() throws IOException {
        NativeShims s = NativeShims.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slab = arena.allocate(4L << 20, 4096);
            long lockedBefore = lockedKiB();
            Pinner.Mode got = s.pin(slab);
            String why = s.lastError();
            if (got == Pinner.Mode.NONE) {
                // Only acceptable where the OS refuses (non-root with a small `ulimit -l`), and it must say so.
                assertTrue(MLOCK_DISABLED || why.contains("mlock"), "unpinned without an mlock reason: " + why);
                return;
            }
            assertEquals(s.preferredMode(), got);
            if (got == Pinner.Mode.MLOCK) {
                assertTrue(lockedKiB() - lockedBefore >= 4096, "VmLck did not grow by the slab's 4 MiB");
            }
            slab.fill((byte) 7); // pinned memory is ordinary memory to Java
            assertEquals(7, slab.get(ValueLayout.JAVA_BYTE, (4L << 20) - 1));
            assertTrue(s.unpin(slab, got), s.lastError());
            if (got == Pinner.Mode.MLOCK) {
                assertTrue(lockedKiB() - lockedBefore < 4096, "munlock did not release the slab");
            }
        }
    }

    @Test
    void cudaEntryPointsSayWhenCudaIsAbsent() {
        NativeShims s = NativeShims.require();
        assumeFalse(s.cudaAvailable(), "CUDA present: covered by cudaRoundTripOfAPoolSlab");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, s::cudaStreamCreate);
        assertTrue(e.getMessage().contains("not available"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> s.cudaMalloc(64));
        assertThrows(UnsupportedOperationException.class, () -> s.cudaEventRecord(0));
        assertThrows(UnsupportedOperationException.class, () -> CudaFence.record(s, 0));
        assertThrows(UnsupportedOperationException.class, () -> s.cudaStreamSleep(0, 1));
    }

    /** Runs only where a CUDA device is present (a GPU machine): pin, async H2D, read back. */
    @Test
    void cudaRoundTripOfAPoolSlab() throws InterruptedException {
        NativeShims s = NativeShims.require();
        assumeTrue(s.cudaAvailable(), "no CUDA runtime with a device here: " + s.modeReason());
        try (PinnedPool pool = new PinnedPool(8L << 20, 1, new ShimPinner(s));
             PinnedPool.Lease lease = pool.acquire(8L << 20, 1000);
             Arena arena = Arena.ofConfined()) {
            assertEquals(Pinner.Mode.CUDA, lease.pinMode());
            MemorySegment src = lease.segment();
            for (long i = 0; i < src.byteSize(); i += 8) {
                src.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
            }
            long stream = s.cudaStreamCreate();
            long dev = s.cudaMalloc(src.byteSize());
            try {
                s.copyToDeviceAsync(dev, src, stream);
                s.cudaStreamSynchronize(stream);
                MemorySegment back = arena.allocate(src.byteSize());
                s.copyToHost(back, dev);
                assertEquals(-1, src.mismatch(back));
                System.out.println("CUDA round trip of " + src.byteSize() + " bytes from a " + lease.pinMode()
                        + " slab: ok (" + s.modeReason() + ")");
            } finally {
                s.cudaFree(dev);
                s.cudaStreamDestroy(stream);
            }
        }
    }

    /** Locked memory of this process in KiB, from /proc/self/status. */
    static long lockedKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmLck:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmLck in /proc/self/status");
    }
}
