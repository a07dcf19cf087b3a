package io.lakestream.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

class ParkingConditionTest {
    private static final long LONG = TimeUnit.MINUTES.toNanos(5);

    private final ReentrantLock lock = new ReentrantLock();
    private final ParkingCondition cond = ParkingCondition.of(lock);
    private int state;
    private volatile int waitingFor;

    @Test
    void aSignalWakesTheWaiterWhetherItCameBeforeOrAfterThePark() throws Exception {
        for (int round = 0; round < 300; round++) {
            state = 0;
            Thread waiter = Thread.ofPlatform().start(() -> {
                lock.lock();
                try {
                    while (state == 0) {
                        cond.awaitNanos(LONG);
                    }
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                } finally {
                    lock.unlock();
                }
            });
            awaitWaiters(1);
            lock.lock();
            try {
                state = 1; // the waiter may be anywhere between its unlock and its park: the permit covers it
                cond.signal();
                assertEquals(0, cond.waiting(), "a signal takes its waiter out of the set");
            } finally {
                lock.unlock();
            }
            waiter.join(TimeUnit.MINUTES.toMillis(1));
            assertTrue(!waiter.isAlive(), "round " + round + ": a signalled waiter stayed parked");
        }
    }

    @Test
    void signalWakesOneWaiterAndSignalAllWakesTheRest() throws Exception {
        AtomicInteger woken = new AtomicInteger();
        Thread[] waiters = new Thread[3];
        for (int i = 0; i < waiters.length; i++) {
            waiters[i] = Thread.ofPlatform().start(() -> {
                lock.lock();
                try {
                    int seen = state;
                    while (state == seen) {
                        cond.awaitNanos(LONG);
                    }
                    woken.incrementAndGet();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                } finally {
                    lock.unlock();
                }
            });
        }
        awaitWaiters(3);
        lock.lock();
        try {
            state++;
            cond.signal();
            assertEquals(2, cond.waiting());
        } finally {
            lock.unlock();
        }
        while (woken.get() < 1) {
            Thread.onSpinWait();
        }
        lock.lock();
        try {
            assertEquals(1, woken.get(), "one signal woke more than one waiter");
            assertEquals(2, cond.waiting());
            cond.signalAll();
            assertEquals(0, cond.waiting());
        } finally {
            lock.unlock();
        }
        for (Thread t : waiters) {
            t.join(TimeUnit.MINUTES.toMillis(1));
        }
        assertEquals(3, woken.get());
    }

    @Test
    void anInterruptEndsTheWaitWithInterruptedExceptionAndLeavesTheLockHeld() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> heldAfter = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().start(() -> {
            lock.lock();
            try {
                cond.awaitNanos(LONG);
            } catch (InterruptedException e) {
                thrown.set(e);
                heldAfter.set(lock.isHeldByCurrentThread());
            } finally {
                lock.unlock();
            }
        });
        awaitWaiters(1);
        waiter.interrupt();
        waiter.join(TimeUnit.MINUTES.toMillis(1));
        assertTrue(thrown.get() instanceof InterruptedException, "got " + thrown.get());
        assertTrue(heldAfter.get());
        lock.lock();
        try {
            assertEquals(0, cond.waiting(), "an interrupted waiter leaves the set");
        } finally {
            lock.unlock();
        }
    }

    @Test
    void aWaitTimesOutAndReportsNoTimeLeft() throws Exception {
        lock.lock();
        try {
            assertTrue(cond.awaitNanos(TimeUnit.MILLISECONDS.toNanos(1)) <= 0);
            assertEquals(0, cond.waiting());
        } finally {
            lock.unlock();
        }
    }

    @Test
    void waitingOrSignallingWithoutTheLockIsRefused() {
        assertThrows(IllegalMonitorStateException.class, () -> cond.awaitNanos(1));
        assertThrows(IllegalMonitorStateException.class, cond::signal);
        assertThrows(IllegalMonitorStateException.class, cond::signalAll);
    }

    @Test
    void aReentrantHolderReleasesEveryHoldWhileItWaits() throws Exception {
        Thread waiter = Thread.ofPlatform().start(() -> {
            lock.lock();
            lock.lock();
            try {
                while (state == 0) {
                    cond.awaitNanos(LONG);
                }
                assertEquals(2, lock.getHoldCount());
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                lock.unlock();
                lock.unlock();
            }
        });
        awaitWaiters(1);
        assertTrue(lock.tryLock(1, TimeUnit.MINUTES), "a waiter holding the lock twice kept it");
        try {
            state = 1;
            cond.signalAll();
        } finally {
            lock.unlock();
        }
        waiter.join(TimeUnit.MINUTES.toMillis(1));
        assertTrue(!waiter.isAlive());
    }

    /**
     * The point of the class: a wait-and-signal round allocates nothing on either side, where
     * {@code lock.newCondition()} allocates a node per wait.
     */
    @Test
    void aWaitAndSignalRoundAllocatesNothing() throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int rounds = 20_000;
        long[] waiterBytes = new long[1];
        Thread waiter = Thread.ofPlatform().start(() -> {
            long before = 0;
            lock.lock();
            try {
                for (int i = 1; i <= 2 * rounds; i++) {
                    if (i == rounds) {
                        before = mx.getCurrentThreadAllocatedBytes(); // second half: warmed up
                    }
                    waitingFor = i;
                    while (state < i) {
                        cond.awaitNanos(LONG);
                    }
                }
                waiterBytes[0] = mx.getCurrentThreadAllocatedBytes() - before;
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                lock.unlock();
            }
        });
        for (int i = 1; i <= 2 * rounds; i++) {
            while (waitingFor < i) { // every round is a real wait, not a state the waiter finds already set
                Thread.onSpinWait();
            }
            lock.lock();
            try {
                state = i;
                cond.signal();
            } finally {
                lock.unlock();
            }
        }
        waiter.join(TimeUnit.MINUTES.toMillis(1));
        // A wait on lock.newCondition() allocates its 32-byte node every time. Here only a
        // contended reacquisition of the lock (the waiter wakes before the signaller unlocks, as
        // often under load) allocates the lock's own queue node: a share of the rounds, never all.
        assertTrue(waiterBytes[0] / rounds < 24, "the waiter allocated " + waiterBytes[0] / rounds + " B per wait");
    }

    /** Without another thread (no lock contention), a wait that times out allocates nothing at all. */
    @Test
    void aTimedOutWaitAllocatesNothing() throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int rounds = 5_000;
        long before = 0;
        lock.lock();
        try {
            for (int i = 0; i < 2 * rounds; i++) {
                if (i == rounds) {
                    before = mx.getCurrentThreadAllocatedBytes(); // second half: warmed up
                }
                cond.awaitNanos(1_000);
            }
        } finally {
            lock.unlock();
        }
        long bytes = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(bytes < rounds, "timed-out waits allocated " + bytes + " B in " + rounds + " waits");
    }

    private void awaitWaiters(int n) {
        while (true) {
            lock.lock();
            try {
                if (cond.waiting() == n) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            Thread.onSpinWait();
        }
    }
}
