package io.lakestream.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PlatformPoolTest {
    @Test
    void everyTaskRunsOnceAndCloseWaitsForTheQueuedOnes() {
        AtomicInteger ran = new AtomicInteger();
        Set<String> names = ConcurrentHashMap.newKeySet();
        PlatformPool pool = new PlatformPool("test-pool", 3);
        for (int i = 0; i < 10_000; i++) { // more than the ring holds at first: it grows
            pool.execute(() -> {
                ran.incrementAndGet();
                names.add(Thread.currentThread().getName());
            });
        }
        pool.close();
        assertEquals(10_000, ran.get(), "close returned before the tasks handed over ran");
        assertTrue(names.size() <= 3, "more workers than the parallelism: " + names);
        assertTrue(names.stream().allMatch(n -> n.startsWith("test-pool-")), names.toString());
        assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> { }));
    }

    @Test
    void tasksRunInParallelUpToTheParallelismAndNoFurther() throws Exception {
        int parallelism = 4;
        PlatformPool pool = new PlatformPool("test-pool", parallelism);
        CountDownLatch allIn = new CountDownLatch(parallelism);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        for (int i = 0; i < 3 * parallelism; i++) {
            pool.execute(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                allIn.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                running.decrementAndGet();
            });
        }
        assertTrue(allIn.await(1, TimeUnit.MINUTES), "the pool ran fewer tasks at once than its parallelism");
        release.countDown();
        pool.close();
        assertEquals(parallelism, most.get());
    }

    @Test
    void aTaskThatThrowsLeavesItsWorkerServing() {
        AtomicInteger ran = new AtomicInteger();
        PlatformPool pool = new PlatformPool("test-pool", 1);
        Thread.UncaughtExceptionHandler quiet = (t, e) -> { };
        pool.execute(() -> {
            Thread.currentThread().setUncaughtExceptionHandler(quiet);
            throw new IllegalStateException("a task's failure");
        });
        pool.execute(ran::incrementAndGet);
        pool.close();
        assertEquals(1, ran.get());
    }

    /** The point of the class: handing a task over allocates nothing (a queue node per task before). */
    @Test
    void handingOverATaskAllocatesNothing() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        AtomicInteger ran = new AtomicInteger();
        Runnable task = ran::incrementAndGet;
        PlatformPool pool = new PlatformPool("test-pool", 2);
        int n = 50_000;
        long before = 0;
        for (int i = 0; i < 2 * n; i++) {
            if (i == n) {
                before = mx.getCurrentThreadAllocatedBytes(); // second half: the ring has grown, the code is warm
            }
            pool.execute(task);
        }
        long bytes = mx.getCurrentThreadAllocatedBytes() - before;
        pool.close();
        assertEquals(2 * n, ran.get());
        // Executors.newFixedThreadPool allocates a 24-byte queue node per task; here only a
        // contended lock acquisition allocates (the lock's own queue node), on a share of the tasks.
        assertTrue(bytes / n < 16, "execute allocated " + bytes / n + " B per task");
    }

    @Test
    void aPoolNeedsAWorker() {
        assertThrows(IllegalArgumentException.class, () -> new PlatformPool("test-pool", 0));
    }
}
