package io.lakestream.retention;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.store.ObjectStore;
import java.util.concurrent.atomic.AtomicLong;

/** Runs {@link GarbageCollector} every interval on a daemon thread until closed. */
public final class BackgroundGc implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BackgroundGc.class.getName());
    private final Thread thread;
    private final AtomicLong reclaimedObjects = new AtomicLong();
    private final AtomicLong reclaimedBytes = new AtomicLong();
    private volatile boolean closed;

    public BackgroundGc(ObjectStore store, long intervalMillis, long orphanGraceMillis) {
        this(store, intervalMillis, orphanGraceMillis, StreamEnv.defaults());
    }

    /** As {@link #BackgroundGc(ObjectStore, long, long)}, with the given environment. */
    public BackgroundGc(ObjectStore store, long intervalMillis, long orphanGraceMillis, StreamEnv env) {
        this.thread = new Thread(() -> loop(store, intervalMillis, orphanGraceMillis, env), "lakestream-gc");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void loop(ObjectStore store, long intervalMillis, long orphanGraceMillis, StreamEnv env) {
        ManifestLog log = null;
        while (!closed) {
            try {
                env.clock().sleep(intervalMillis);
                if (log == null) {
                    log = ManifestLog.open(store, env);
                }
                GcReport r = new GarbageCollector(log, orphanGraceMillis).run(false);
                reclaimedObjects.addAndGet(r.objects());
                reclaimedBytes.addAndGet(r.bytes());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // GC is an optimisation: a failed pass is retried at the next interval.
                LOG.log(System.Logger.Level.WARNING, "background GC pass on " + store.describe() + " failed: " + e.getMessage());
            }
        }
    }

    public long reclaimedObjects() {
        return reclaimedObjects.get();
    }

    public long reclaimedBytes() {
        return reclaimedBytes.get();
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
