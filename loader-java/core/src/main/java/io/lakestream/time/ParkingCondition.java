package io.lakestream.time;

import java.util.Arrays;
import java.util.Date;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Condition} of a {@link ReentrantLock} whose waits allocate nothing: the waiting
 * threads sit in a small array guarded by the lock (grown once to the most waiters ever seen)
 * and park with {@link LockSupport}, where {@code lock.newCondition()} allocates a queue node
 * for every {@code await}. The hand-offs of the hot paths (a producer's batch queue, its name
 * sync and encode buffers, a reader's prefetch) wait and signal once or more per batch or
 * step, and those nodes were a measurable share of the ≤ 1 KiB of garbage per batch
 * (docs/benchmarks.md).
 *
 * <p>Waits may return early (a wake-up meant for an earlier wait, or a timed-out waiter
 * taking a {@link #signal}): every caller re-checks what it waits for in a loop, as
 * {@link Threads#await} documents. Only the timed waits the project uses are offered:
 * {@link #awaitNanos}, {@link #await(long, TimeUnit)} and {@link #await()}.
 */
public final class ParkingCondition implements Condition {
    private final ReentrantLock lock;
    /** Parked (or about to park) threads, oldest first; guarded by {@link #lock}. */
    private Thread[] waiters = new Thread[2];
    private int count;

    private ParkingCondition(ReentrantLock lock) {
        this.lock = lock;
    }

    /** A condition of {@code lock} whose waits and signals allocate nothing. */
    public static ParkingCondition of(ReentrantLock lock) {
        return new ParkingCondition(lock);
    }

    @Override
    public long awaitNanos(long nanos) throws InterruptedException {
        checkHeld();
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (nanos <= 0) {
            return nanos;
        }
        Thread me = Thread.currentThread();
        add(me);
        long deadline = System.nanoTime() + nanos;
        int holds = lock.getHoldCount();
        for (int i = 0; i < holds; i++) {
            lock.unlock();
        }
        try {
            // A signal between the unlock and the park leaves the permit: the park returns at once.
            LockSupport.parkNanos(this, nanos);
        } finally {
            for (int i = 0; i < holds; i++) {
                lock.lock();
            }
            remove(me);
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return deadline - System.nanoTime();
    }

    @Override
    public boolean await(long time, TimeUnit unit) throws InterruptedException {
        return awaitNanos(unit.toNanos(time)) > 0;
    }

    /** Waits without a deadline (in day-long parks, re-armed while nothing signals). */
    @Override
    public void await() throws InterruptedException {
        awaitNanos(TimeUnit.DAYS.toNanos(1));
    }

    @Override
    public void awaitUninterruptibly() {
        throw new UnsupportedOperationException("ParkingCondition offers interruptible timed waits only");
    }

    @Override
    public boolean awaitUntil(Date deadline) {
        throw new UnsupportedOperationException("ParkingCondition offers interruptible timed waits only");
    }

    /** Wakes the longest waiter (it leaves the set, so the next signal wakes another). */
    @Override
    public void signal() {
        checkHeld();
        if (count > 0) {
            Thread t = waiters[0];
            removeAt(0);
            LockSupport.unpark(t);
        }
    }

    @Override
    public void signalAll() {
        checkHeld();
        for (int i = 0; i < count; i++) {
            LockSupport.unpark(waiters[i]);
            waiters[i] = null;
        }
        count = 0;
    }

    /** Threads waiting and not yet signalled (the caller holds the lock). */
    public int waiting() {
        checkHeld();
        return count;
    }

    private void add(Thread t) {
        if (count == waiters.length) {
            waiters = Arrays.copyOf(waiters, count * 2);
        }
        waiters[count++] = t;
    }

    /** Drops {@code t} if a signal has not already taken it out. */
    private void remove(Thread t) {
        for (int i = 0; i < count; i++) {
            if (waiters[i] == t) {
                removeAt(i);
                return;
            }
        }
    }

    private void removeAt(int i) {
        System.arraycopy(waiters, i + 1, waiters, i, count - i - 1);
        waiters[--count] = null;
    }

    private void checkHeld() {
        if (!lock.isHeldByCurrentThread()) {
            throw new IllegalMonitorStateException("the condition's lock is not held by " + Thread.currentThread().getName());
        }
    }
}
