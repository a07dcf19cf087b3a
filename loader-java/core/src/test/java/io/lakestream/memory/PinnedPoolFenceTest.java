package io.lakestream.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The bookkeeping that keeps a slab out of the pool while a device copy queued from it may still
 * run (CUDA mode), on the CPU: a fence the test completes by hand stands for the CUDA event.
 */
class PinnedPoolFenceTest {

    /** A fence completed by the test (what a CUDA event is when its stream reaches it). */
    private static final class ManualFence implements Fence {
        volatile boolean done;
        final AtomicInteger closes = new AtomicInteger();
        final AtomicInteger awaits = new AtomicInteger();

        @Override
        public boolean isDone() {
            return done;
        }

        @Override
        public void await() {
            awaits.incrementAndGet();
            done = true;
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void aFencedSlabIsNotLentAgainUntilItsFenceIsDone() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinner.NONE)) {
            PinnedPool.Lease first = pool.acquire(4096, 1000);
            MemorySegment view = first.segment();
            long address = view.address();
            ManualFence fence = new ManualFence();
            first.closeAfter(fence);
            assertTrue(first.isClosed());
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0), "Java views die at once");
            assertEquals(1, pool.fencedSlabs());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.acquire(4096, 50));
            assertTrue(e.getMessage().contains("1 of them wait for device copies"), e.getMessage());
            assertEquals(0, fence.closes.get());
            fence.done = true;
            try (PinnedPool.Lease second = pool.acquire(4096, 1000)) {
                assertEquals(address, second.segment().address(), "the slab came back once its copy ran");
            }
            assertEquals(1, fence.closes.get(), "the fence's event is freed once, when it is done");
            assertEquals(0, pool.fencedSlabs());
        }
    }

    @Test
    void aWaitingAcquireGetsTheSlabWhenTheFenceCompletesWithoutAnyOtherSignal() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinner.NONE)) {
            PinnedPool.Lease first = pool.acquire(4096, 1000);
            long address = first.segment().address();
            ManualFence fence = new ManualFence();
            first.closeAfter(fence);
            CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
                try (PinnedPool.Lease l = pool.acquire(4096, 30_000)) {
                    return l.segment().address();
                } catch (InterruptedException ex) {
                    throw new IllegalStateException(ex);
                }
            });
            assertThrows(java.util.concurrent.TimeoutException.class, () -> waiter.get(100, TimeUnit.MILLISECONDS));
            fence.done = true; // the device reached the event: nobody signals the pool
            assertEquals(address, waiter.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void otherFreeSlabsAreLentWhileOneWaitsForItsFence() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 2, Pinner.NONE)) {
            PinnedPool.Lease a = pool.acquire(4096, 1000);
            PinnedPool.Lease b = pool.acquire(4096, 1000);
            long fencedAddress = a.segment().address();
            long freeAddress = b.segment().address();
            ManualFence fence = new ManualFence();
            a.closeAfter(fence);
            b.close();
            for (int i = 0; i < 5; i++) {
                try (PinnedPool.Lease l = pool.acquire(4096, 1000)) {
                    assertEquals(freeAddress, l.segment().address());
                    assertNotEquals(fencedAddress, l.segment().address());
                }
            }
            assertEquals(2, pool.slabCount(), "a fenced slab still counts against the bound");
        }
    }

    @Test
    void closingThePoolWaitsForPendingFencesBeforeFreeingTheirSlabs() throws Exception {
        PinnedPool pool = new PinnedPool(1L << 20, 2, Pinner.NONE);
        ManualFence fence = new ManualFence();
        pool.acquire(4096, 1000).closeAfter(fence);
        pool.close();
        assertEquals(1, fence.awaits.get(), "pool freed a slab a queued copy may still read");
        assertEquals(1, fence.closes.get());
        assertEquals(0, pool.slabCount());
        // A lease outliving its pool: released with a fence, it is freed after the fence too.
        PinnedPool pool2 = new PinnedPool(1L << 20, 1, Pinner.NONE);
        PinnedPool.Lease late = pool2.acquire(4096, 1000);
        pool2.close();
        ManualFence f2 = new ManualFence();
        late.closeAfter(f2);
        assertEquals(1, f2.awaits.get());
        assertEquals(1, f2.closes.get());
    }

    @Test
    void aFenceAfterCloseIsRefusedBecauseTheSlabMayAlreadyHoldAnotherBatch() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinner.NONE)) {
            PinnedPool.Lease l = pool.acquire(4096, 1000);
            l.close();
            ManualFence fence = new ManualFence();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.closeAfter(fence));
            assertTrue(e.getMessage().contains("already released"), e.getMessage());
            assertEquals(1, fence.closes.get());
            PinnedPool.Lease m = pool.acquire(4096, 1000);
            m.closeAfter(null); // no fence: a plain close
            assertEquals(0, pool.fencedSlabs());
        }
    }

    @Test
    void aFailingFenceDropsItsSlabForGoodAndThePoolReplacesIt() throws Exception {
        try (PinnedPool pool = new PinnedPool(1L << 20, 1, Pinner.NONE)) {
            PinnedPool.Lease l = pool.acquire(4096, 1000);
            long address = l.segment().address();
            l.closeAfter(new Fence() {
                @Override
                public boolean isDone() {
                    throw new IllegalStateException("cudaEventQuery: an illegal memory access was encountered");
                }

                @Override
                public void await() {}

                @Override
                public void close() {}
            });
            try (PinnedPool.Lease next = pool.acquire(4096, 1000)) {
                assertNotEquals(address, next.segment().address(), "a slab the device may still read was lent again");
            }
            assertEquals(1, pool.slabCount());
        }
    }
}
