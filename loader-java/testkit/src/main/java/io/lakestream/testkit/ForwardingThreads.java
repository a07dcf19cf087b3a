package io.lakestream.testkit;

import io.lakestream.time.Threads;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * Platform threads, every call forwarded: a test overrides the calls it wants to observe (which
 * workers start, when someone waits) and keeps the real behaviour of the rest.
 */
public class ForwardingThreads implements Threads {
    private final Threads platform = Threads.platform();

    @Override
    public Worker start(String name, Runnable body) {
        return platform.start(name, body);
    }

    @Override
    public Pool pool(String name, int parallelism) {
        return platform.pool(name, parallelism);
    }

    @Override
    public void lock(Lock lock) {
        platform.lock(lock);
    }

    @Override
    public void await(Lock lock, Condition condition, long nanos) throws InterruptedException {
        platform.await(lock, condition, nanos);
    }

    @Override
    public void signalAll(Condition condition) {
        platform.signalAll(condition);
    }

    @Override
    public void signal(Condition condition) {
        platform.signal(condition);
    }
}
