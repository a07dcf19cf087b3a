package io.lakestream.producer;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The producer's batch-object writers: a few daemon threads so object fsyncs overlap. */
final class ObjectWriters implements AutoCloseable {
    private final ExecutorService pool;
    private final int parallelism;

    ObjectWriters(String producer, int parallelism) {
        this.parallelism = parallelism;
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "lakestream-write-" + producer + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    int parallelism() {
        return parallelism;
    }

    Future<?> submit(Runnable write) {
        return pool.submit(write);
    }

    /** Lets writes in flight finish (they are idempotent and unreferenced until committed). */
    @Override
    public void close() {
        pool.shutdown();
        try {
            pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
