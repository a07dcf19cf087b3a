package io.lakestream.time;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * {@link Threads#platform()}: daemon platform threads, {@link Lock#lock()}, {@link Condition#awaitNanos}, pools
 * whose hand-offs allocate nothing ({@link PlatformPool}).
 */
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
        return new PlatformPool(name, parallelism);
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
