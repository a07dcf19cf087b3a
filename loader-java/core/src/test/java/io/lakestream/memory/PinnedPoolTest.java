package io.lakestream.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The pool on the real shim pinner: reuse, bounds, and use-after-release. */
class PinnedPoolTest {

    @Test
    void slabsArePinnedOnceAndReused() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 2, Pinners.defaultPinner())) {
            long address = -1;
            for (int i = 0; i < 200; i++) {
                try (PinnedPool.Lease l = pool.acquire(512 * 1024, 1000)) {
                    if (address < 0) {
                        address = l.segment().address();
                    }
                    assertEquals(address, l.segment().address(), "lease " + i + " got another slab");
                    l.segment().set(ValueLayout.JAVA_INT, 0, i);
                }
            }
            assertEquals(1, pool.slabCount());
            assertEquals(200, pool.totalLeases());
            Pinner.Mode expected = NativeShims.get().map(NativeShims::preferredMode).orElse(Pinner.Mode.NONE);
            assertEquals(expected, pool.pinMode());
        }
    }

    @Test
    void slabsAreWholePages() throws Exception {
        // A slab sharing a page with its neighbour would be unlocked by the neighbour's munlock.
        try (PinnedPool pool = new PinnedPool(1000, 1, Pinners.defaultPinner());
             PinnedPool.Lease l = pool.acquire(10, 1000)) {
            assertEquals(0, l.segment().address() % 4096);
        }
    }

    @Test
    void anUncheckedLeaseLendsTheSlabItselfAndGoesBackWithoutClosingAScope() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinners.defaultPinner())) {
            PinnedPool.Lease first = pool.tryAcquire(4096, 1000, false);
            assertFalse(first.checked());
            MemorySegment view = first.segment();
            assertEquals(4096, view.byteSize(), "bounded to the lease's bytes all the same");
            first.close();
            assertTrue(first.isClosed());
            // No scope of its own: the view is the slab's memory and stays readable, which is the
            // documented price of skipping the per-batch handshake.
            try (PinnedPool.Lease second = pool.tryAcquire(4096, 1000, false)) {
                assertEquals(view.address(), second.segment().address(), "the slab went back and was lent again");
                second.segment().set(ValueLayout.JAVA_LONG, 0, 42L);
                assertEquals(42L, view.get(ValueLayout.JAVA_LONG, 0));
            }
            try (PinnedPool.Lease checked = pool.tryAcquire(4096, 1000, true)) {
                assertTrue(checked.checked(), "the same pool still lends checked leases");
            }
        }
    }

    @Test
    void useAfterReleaseThrowsInsteadOfReadingAnotherBatch() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinners.defaultPinner())) {
            PinnedPool.Lease first = pool.acquire(4096, 1000);
            MemorySegment view = first.segment();
            MemorySegment slice = view.asSlice(128, 64);
            first.close();
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> slice.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            assertThrows(IllegalStateException.class, () -> view.asByteBuffer().get(0)); // NIO views die too
            first.close(); // idempotent
            try (PinnedPool.Lease second = pool.acquire(4096, 1000)) {
                assertEquals(view.address(), second.segment().address(), "the slab went back and was lent again");
                second.segment().set(ValueLayout.JAVA_LONG, 0, 42L);
                assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_LONG, 0));
            }
        }
    }

    @Test
    void exhaustedPoolTimesOutWithAClearError() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 2, Pinners.defaultPinner());
             PinnedPool.Lease a = pool.acquire(1, 1000);
             PinnedPool.Lease b = pool.acquire(1, 1000)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.acquire(1, 50));
            assertTrue(e.getMessage().contains("exhausted"), e.getMessage());
            assertEquals(2, pool.slabCount());
        }
    }

    /**
     * The wait for a slab runs on the injected clock: an hour-long timeout ends when that clock
     * says so, not the machine's (on the machine's clock the test would wait an hour: it fails at 30 s).
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void theWaitForASlabEndsOnTheInjectedClock() throws Exception {
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        io.lakestream.time.Clock clock = new io.lakestream.time.Clock() {
            @Override
            public long wallMillis() {
                return 0;
            }

            @Override
            public long monotonicNanos() {
                return nanos.getAndAdd(java.util.concurrent.TimeUnit.HOURS.toNanos(2)); // every look: two hours later
            }

            @Override
            public void sleep(long millis) {}
        };
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinners.defaultPinner(), io.lakestream.time.Threads.platform(), clock);
             PinnedPool.Lease a = pool.acquire(1, 1000)) {
            assertEquals(null, pool.tryAcquire(1, 3_600_000)); // deadline at 1 h: the next look is past it, no real wait
        }
    }

    @Test
    void closingThePoolUnpinsItsSlabs() throws Exception {
        assumeTrue(NativeShims.get().map(NativeShims::preferredMode).orElse(Pinner.Mode.NONE) == Pinner.Mode.MLOCK,
                "VmLck only tells about mlock");
        long before = NativeShimsTest.lockedKiB();
        PinnedPool pool = new PinnedPool(8L << 20, 2, Pinners.defaultPinner());
        PinnedPool.Lease l = pool.acquire(8L << 20, 1000);
        if (l.pinMode() != Pinner.Mode.MLOCK) {
            l.close();
            pool.close();
            assumeTrue(false, "the OS refused mlock (ulimit -l): covered by PinningFallbackTest");
        }
        assertTrue(NativeShimsTest.lockedKiB() - before >= 8192);
        pool.close(); // a lent slab is freed when its lease closes
        assertTrue(NativeShimsTest.lockedKiB() - before >= 8192);
        l.close();
        assertTrue(NativeShimsTest.lockedKiB() - before < 8192, "slab still locked after pool and lease closed");
    }
}
