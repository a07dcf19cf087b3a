package io.lakestream.producer;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The producer's batch-object writers: a few daemon threads so object fsyncs overlap each other
 * and the encoding of the next batch. They also write the manifest's snapshots, off the commit
 * path ({@link io.lakestream.log.ManifestLog#writeSnapshotsWith}).
 */
final class ObjectWriters implements Executor, AutoCloseable {
    private final ExecutorService pool;

    ObjectWriters(String producer, int parallelism) {
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "lakestream-write-" + producer + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void execute(Runnable task) {
        pool.execute(task);
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
