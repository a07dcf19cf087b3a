package io.lakestream.time;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/** {@link Threads#platform()}: daemon platform threads, {@link Lock#lock()}, {@link Condition#awaitNanos}. */
final class PlatformThreads implements Threads {
    static final PlatformThreads INSTANCE = new PlatformThreads();

    private PlatformThreads() {}

    @Override
    public Worker start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return new Worker() {
            @Override
            public boolean join(long millis) throws InterruptedException {
                t.join(Math.max(1, millis));
                return !t.isAlive();
            }

            @Override
            public void interrupt() {
                t.interrupt();
            }
        };
    }

    @Override
    public Pool pool(String name, int parallelism) {
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        return new Pool() {
            @Override
            public void execute(Runnable task) {
                pool.execute(task);
            }

            @Override
            public void close() {
                pool.shutdown();
                try {
                    pool.awaitTermination(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    @Override
    public void lock(Lock lock) {
        lock.lock();
    }

    @Override
    public void await(Lock lock, Condition condition, long nanos) throws InterruptedException {
        if (nanos > 0) {
            condition.awaitNanos(nanos);
        }
    }

    @Override
    public void signalAll(Condition condition) {
        condition.signalAll();
    }

    @Override
    public void signal(Condition condition) {
        condition.signal();
    }

    @Override
    public String toString() {
        return "Threads.platform()";
    }
}
