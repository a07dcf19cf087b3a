package io.lakestream.time;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@link Threads.Pool} on platform daemon threads whose hand-off allocates nothing: the tasks
 * wait in a ring of slots guarded by one lock (grown to the most tasks ever queued) and idle
 * workers park on a {@link ParkingCondition}. A producer hands every batch object to this pool
 * (the batch is the task); {@code Executors.newFixedThreadPool}'s queue allocated a node per
 * task and a condition node per idle wait, about 56 B of the producer's garbage per batch.
 *
 * <p>Workers start on demand, one per task handed over while none is idle, up to the
 * parallelism, and then live until {@link #close}. A task that throws goes to its thread's
 * uncaught-exception handler and the worker goes on with the next.
 */
final class PlatformPool implements Threads.Pool {
    private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final String name;
    private final int parallelism;
    private final ReentrantLock lock = new ReentrantLock();
    private final ParkingCondition queued = ParkingCondition.of(lock);
    private final ParkingCondition finished = ParkingCondition.of(lock);
    private Runnable[] ring = new Runnable[16];
    private int head;
    private int size;
    private int started;
    private int running;
    private boolean closed;

    PlatformPool(String name, int parallelism) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("a pool needs at least one worker, got " + parallelism);
        }
        this.name = name;
        this.parallelism = parallelism;
    }

    @Override
    public void execute(Runnable task) {
        int startNumber = 0; // the worker to start, named by its number: none when 0
        lock.lock();
        try {
            if (closed) {
                throw new RejectedExecutionException("pool " + name + " is closed");
            }
            if (size == ring.length) {
                grow();
            }
            ring[(head + size) % ring.length] = task;
            size++;
            // a worker parked and not yet woken takes it; else a new one while below the parallelism
            if (queued.waiting() == 0 && started < parallelism) {
                startNumber = ++started; // read here, under the lock: two callers never name the same worker
            } else {
                queued.signal();
            }
        } finally {
            lock.unlock();
        }
        if (startNumber > 0) {
            Thread t = new Thread(this::work, name + "-" + startNumber);
            t.setDaemon(true);
            t.start();
        }
    }

    private void work() {
        while (true) {
            Runnable task;
            lock.lock();
            try {
                while (size == 0 && !closed) {
                    try {
                        queued.await();
                    } catch (InterruptedException e) {
                        // only close() stops a worker; an interrupt of its task's wait is the task's business
                    }
                }
                if (size == 0) {
                    return; // closed and drained
                }
                task = ring[head];
                ring[head] = null;
                head = (head + 1) % ring.length;
                size--;
                running++;
            } finally {
                lock.unlock();
            }
            try {
                task.run();
            } catch (Throwable t) {
                Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), t);
            } finally {
                lock.lock();
                try {
                    running--;
                    if (size == 0 && running == 0) {
                        finished.signalAll();
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    private void grow() {
        Runnable[] bigger = new Runnable[ring.length * 2];
        for (int i = 0; i < size; i++) {
            bigger[i] = ring[(head + i) % ring.length];
        }
        ring = bigger;
        head = 0;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            queued.signalAll();
            long left = CLOSE_WAIT_NANOS;
            while ((size > 0 || running > 0) && left > 0) {
                left = finished.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PlatformPool(" + name + ", " + parallelism + ")";
    }
}
