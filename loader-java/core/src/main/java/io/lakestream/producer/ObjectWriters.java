package io.lakestream.producer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The producer's batch-object writers: a few daemon threads so object fsyncs overlap. With
 * parallelism 0 every write runs inline on the appending thread (a deterministic simulation
 * allows no other threads).
 */
final class ObjectWriters implements AutoCloseable {
    private final ExecutorService pool;
    private final int parallelism;

    ObjectWriters(String producer, int parallelism) {
        this.parallelism = parallelism;
        AtomicInteger n = new AtomicInteger();
        this.pool = parallelism == 0 ? null : Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "lakestream-write-" + producer + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Writes in flight at most (at least 1: an inline write is one). */
    int parallelism() {
        return Math.max(1, parallelism);
    }

    Future<?> submit(Runnable write) {
        if (pool == null) {
            try {
                write.run();
                return CompletableFuture.completedFuture(null);
            } catch (RuntimeException | Error e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return pool.submit(write);
    }

    /** Lets writes in flight finish (they are idempotent and unreferenced until committed). */
    @Override
    public void close() {
        if (pool == null) {
            return;
        }
        pool.shutdown();
        try {
            pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
