package io.lakestream.producer;

import io.lakestream.store.ObjectStore;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The directory sync of a group's batch objects ({@link ObjectStore#syncNames}), run beside the
 * commit that names them: the committer {@link #start}s it while preparing the version and
 * {@link #awaitDone}s it in the version put's {@code beforePublish} barrier
 * ({@link ObjectStore#putIfAbsent(String, java.lang.foreign.MemorySegment, boolean, Runnable)}),
 * which file:// runs after the version's temporary file is written and fdatasynced and before
 * the {@code link(2)} that publishes it. The two fsyncs must both precede the link but not each
 * other: overlapped, a commit waits for one fewer fsync in series (the group commit's fsyncs are
 * the largest share of the append-to-visible tail: docs/benchmarks.md).
 *
 * <p>Threaded, a worker of its own ({@code lakestream-namesync-<id>}, started at the first sync)
 * runs it, not the writer pool: behind a full pool's queued object writes it would wait for
 * them. Inline (no threads), {@link #awaitDone} runs it on the caller, so nothing overlaps.
 * One request at a time, its keys copied into a reused list, its waits on a
 * {@link ParkingCondition}: no allocation per commit.
 */
final class NameSync implements AutoCloseable {
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final ObjectStore store;
    private final Threads threads;
    private final String id;
    private final boolean threaded;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = ParkingCondition.of(lock);
    /** The keys of the posted request: the worker's between {@link #start} and the request finishing. */
    private final List<String> keys = new ArrayList<>();
    /** Batches whose names the posted request makes durable: told so once {@link #awaitDone} saw it succeed. */
    private final List<QueuedBatch> batches = new ArrayList<>();
    private long posted;
    private long finished;
    private RuntimeException failure;
    private boolean closed;
    private Threads.Worker worker;

    NameSync(ObjectStore store, Threads threads, String id, boolean threaded) {
        this.store = store;
        this.threads = threads;
        this.id = id;
        this.threaded = threaded;
    }

    /**
     * Starts making the names of {@code unsynced} durable (after the one in flight, if any, is
     * done: a lost race prepares again while the first attempt's sync may still run).
     */
    void start(List<QueuedBatch> unsynced) {
        awaitDone(); // the rare case: a commit prepared again after a lost race
        threads.lock(lock);
        try {
            ensureOpen();
            keys.clear();
            batches.clear();
            for (int i = 0; i < unsynced.size(); i++) {
                keys.add(unsynced.get(i).entry.object());
                batches.add(unsynced.get(i));
            }
            failure = null;
            posted++;
            if (threaded) {
                if (worker == null) {
                    worker = threads.start("lakestream-namesync-" + id, this::run);
                }
                threads.signalAll(changed);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for the started sync (runs it here when inline) and marks its batches' names synced
     * in {@code queue}; throws its failure as a {@link NamesNotDurableException}, so the version
     * put fails before anything is published. Does nothing when no sync is pending.
     */
    void awaitDone(BatchQueue queue) {
        awaitDone();
        threads.lock(lock);
        try {
            if (!batches.isEmpty()) {
                queue.namesSynced(batches);
                batches.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    private void awaitDone() {
        if (!threaded) {
            runInline();
            return;
        }
        threads.lock(lock);
        try {
            while (finished < posted) {
                ensureOpen();
                threads.await(lock, changed, IDLE_WAIT_NANOS);
            }
            if (failure != null) {
                RuntimeException f = failure;
                failure = null;
                batches.clear();
                throw new NamesNotDurableException(f);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("producer '" + id + "' was interrupted while the names of its batch objects were"
                    + " made durable in " + store.describe(), e);
        } finally {
            lock.unlock();
        }
    }

    private void runInline() {
        if (finished == posted) {
            return;
        }
        finished = posted;
        try {
            store.syncNames(keys);
        } catch (RuntimeException e) {
            batches.clear();
            throw new NamesNotDurableException(e);
        }
    }

    private void run() {
        while (true) {
            threads.lock(lock);
            try {
                while (finished == posted && !closed) {
                    threads.await(lock, changed, IDLE_WAIT_NANOS);
                }
                if (closed && finished == posted) {
                    return;
                }
            } catch (InterruptedException e) {
                return; // closing
            } finally {
                lock.unlock();
            }
            RuntimeException failed = null;
            try {
                store.syncNames(keys); // the keys are this worker's until the request is marked finished
            } catch (RuntimeException e) {
                failed = e;
            }
            threads.lock(lock);
            try {
                failure = failed;
                finished = posted;
                threads.signalAll(changed);
            } finally {
                lock.unlock();
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("producer '" + id + "' is closed");
        }
    }

    /** Lets a sync in flight finish (at most 30 s), then stops the worker. */
    @Override
    public void close() {
        Threads.Worker w;
        threads.lock(lock);
        try {
            closed = true;
            threads.signalAll(changed);
            w = worker;
        } finally {
            lock.unlock();
        }
        if (w != null) {
            w.stop(TimeUnit.SECONDS.toMillis(30), 5_000);
        }
    }

    /** A name sync failed: the commit that waited for it publishes nothing; its cause is the store's failure. */
    static final class NamesNotDurableException extends RuntimeException {
        NamesNotDurableException(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
