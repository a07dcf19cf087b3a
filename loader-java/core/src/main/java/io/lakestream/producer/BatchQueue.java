package io.lakestream.producer;

import io.lakestream.log.CommitResult;
import io.lakestream.log.TgbEntry;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The producer's accumulator (after Kafka's {@code RecordAccumulator}): the batches appended and
 * not committed yet, in sequence order, and what the appending side and the committer tell each
 * other about them — written, committed, a flush asked for, a failure, a control change, close.
 * Every method holds the lock only for a few field updates (never across store I/O), and every
 * change bumps {@link #changes()}, so a waiter that saw a count does not miss a change made
 * after it looked.
 */
final class BatchQueue {
    private final Threads threads;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = ParkingCondition.of(lock);
    // guarded by lock
    // in sequence order; a list walked by index, so that the committer's look at the head
    // (several per batch) allocates nothing (issue 23); it holds at most the batches in flight
    private final ArrayList<QueuedBatch> queue = new ArrayList<>();
    /** What {@link #head()} returns, refilled when {@code changes} moved on since it was last filled. */
    private final Head head = new Head();
    private long changes;
    private long flushUpTo; // commit every batch up to this seq whatever the group
    private Throwable failed;
    private boolean failureReported;
    private ControlChangedException controlChanged;
    private CommitResult lastResult;
    private boolean closed;

    BatchQueue(Threads threads) {
        this.threads = threads;
    }

    /**
     * What the committer sees of the queue's head at one moment. One object per queue, refilled
     * in place by {@link #head()} (a new one per look was garbage several times per batch: the
     * committer looks at each change of the queue; AllocationProbe, 16,000 batches: 792-829 B per
     * batch on the committer thread after, 833-856 before). That is safe because
     * it has one reader, the committer, whose {@code runOnce} never runs on two threads at once
     * (the committer thread, or the appending thread when the producer runs inline), and which
     * reads it only before its next call to {@code head()}.
     */
    static final class Head {
        private long changes = -1;
        private QueuedBatch first;
        private int ready;
        private Throwable writeFailure;
        private boolean flush;
        private boolean stop;
        private boolean parked;

        long changes() {
            return changes;
        }

        QueuedBatch first() {
            return first;
        }

        int ready() {
            return ready;
        }

        Throwable writeFailure() {
            return writeFailure;
        }

        boolean flush() {
            return flush;
        }

        boolean stop() {
            return stop;
        }

        boolean parked() {
            return parked;
        }
    }

    void add(QueuedBatch b) {
        lock.lock();
        try {
            queue.add(b);
            bump();
        } finally {
            lock.unlock();
        }
    }

    /** A batch's object write ended: written, or failed with {@code failure}. */
    void written(QueuedBatch b, Throwable failure) {
        lock.lock();
        try {
            if (failure == null) {
                b.written = true;
            } else {
                b.writeFailure = failure;
            }
            bump();
        } finally {
            lock.unlock();
        }
    }

    /** The change count: every change bumps it (see {@link #awaitChange}). */
    long changes() {
        lock.lock();
        try {
            return changes;
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** The sequence of the newest batch queued, or -1 when none is. */
    long lastSeq() {
        lock.lock();
        try {
            return queue.isEmpty() ? -1 : queue.get(queue.size() - 1).seq();
        } finally {
            lock.unlock();
        }
    }

    /** Asks the committer to commit every batch up to {@code seq}, whatever the group says. */
    void flushUpTo(long seq) {
        lock.lock();
        try {
            if (seq > flushUpTo) { // asking again for the same is no change (a waiter would spin on it)
                flushUpTo = seq;
                bump();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The head as the committer decides on it: how many batches are written in a row from the head, the first write failure among them. */
    Head head() {
        lock.lock();
        try {
            if (head.changes == changes) {
                return head; // every change of what it reads bumps the count
            }
            boolean stop = closed || failed != null;
            QueuedBatch first = queue.isEmpty() ? null : queue.get(0);
            int ready = 0;
            Throwable writeFailure = null;
            for (int i = 0; i < queue.size(); i++) {
                QueuedBatch b = queue.get(i);
                if (b.writeFailure != null) {
                    writeFailure = b.writeFailure;
                    break;
                }
                if (!b.written) {
                    break;
                }
                ready++;
            }
            boolean flush = first != null && flushUpTo >= first.seq();
            head.changes = changes;
            head.first = first;
            head.ready = ready;
            head.writeFailure = writeFailure;
            head.flush = flush;
            head.stop = stop;
            head.parked = controlChanged != null;
            return head;
        } finally {
            lock.unlock();
        }
    }

    /** The written batches at the head of the queue, at most {@code max}, into {@code out} (cleared first: the caller's reused list). */
    List<QueuedBatch> written(int max, List<QueuedBatch> out) {
        out.clear();
        lock.lock();
        try {
            for (int i = 0; i < queue.size(); i++) {
                QueuedBatch b = queue.get(i);
                if (!b.written || out.size() >= max) {
                    break;
                }
                out.add(b);
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    void namesSynced(List<QueuedBatch> batches) {
        lock.lock();
        try {
            for (int i = 0; i < batches.size(); i++) {
                batches.get(i).nameSynced = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /** True if the batch at the head is written (a commit could name it). */
    boolean headWritten() {
        lock.lock();
        try {
            return !queue.isEmpty() && queue.get(0).written;
        } finally {
            lock.unlock();
        }
    }

    /** A commit's outcome: batches up to {@code committedSeq} leave the queue; returns true if it is empty now. */
    boolean committed(long committedSeq, CommitResult r) {
        lock.lock();
        try {
            int drop = 0;
            while (drop < queue.size() && queue.get(drop).seq() <= committedSeq) {
                drop++;
            }
            for (int i = 0; i < drop; i++) {
                queue.remove(0); // a few batches: the shift is cheap, and allocates nothing
            }
            lastResult = r;
            bump();
            return queue.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /**
     * True once no batch up to {@code seq} is queued. The committer removes committed batches and
     * records their result in one step ({@link #committed}), so a waiter on this (unlike one on the
     * committer's committed sequence, which moves first) then finds that commit in {@link #lastResult}.
     */
    boolean drainedUpTo(long seq) {
        lock.lock();
        try {
            return queue.isEmpty() || queue.get(0).seq() > seq;
        } finally {
            lock.unlock();
        }
    }

    CommitResult lastResult() {
        lock.lock();
        try {
            return lastResult;
        } finally {
            lock.unlock();
        }
    }

    /** Ends the instance with {@code t} (the first failure wins). */
    void fail(Throwable t) {
        lock.lock();
        try {
            if (failed == null) {
                failed = t;
            }
            bump();
        } finally {
            lock.unlock();
        }
    }

    /** Fails the instance with {@code t} that the caller throws itself: later calls report an {@link IllegalStateException}. */
    void failReported(Throwable t) {
        lock.lock();
        try {
            if (failed == null) {
                failed = t;
                failureReported = true;
            }
            bump();
        } finally {
            lock.unlock();
        }
    }

    void controlChanged(ControlChangedException c) {
        lock.lock();
        try {
            controlChanged = c;
            bump();
        } finally {
            lock.unlock();
        }
    }

    /** Drops every queued batch once no object write is in flight (they hold encode buffers and old keys); a control rewind. */
    void dropAll() throws InterruptedException {
        threads.lock(lock);
        try {
            while (true) {
                boolean inFlight = false;
                for (QueuedBatch b : queue) {
                    inFlight |= !b.written && b.writeFailure == null;
                }
                if (!inFlight) {
                    break;
                }
                threads.await(lock, changed, Threads.millis(50));
            }
            queue.clear();
            bump();
        } finally {
            lock.unlock();
        }
    }

    void controlResolved() {
        lock.lock();
        try {
            controlChanged = null;
            bump();
        } finally {
            lock.unlock();
        }
    }

    void close() {
        lock.lock();
        try {
            closed = true;
            bump();
        } finally {
            lock.unlock();
        }
    }

    boolean closed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** What the appending side must hear: a failure (first report: itself; later: wrapped by the caller), a control change, or nothing. */
    record Problem(Throwable failure, boolean firstReport, ControlChangedException controlChanged) {}

    Problem problem() {
        lock.lock();
        try {
            boolean first = failed != null && !failureReported;
            if (failed != null) {
                failureReported = true;
            }
            return failed == null && controlChanged == null ? null : new Problem(failed, first, controlChanged);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until {@code done} says so, the instance failed, a control change or close, checking
     * at most every {@code sliceNanos}.
     */
    void awaitUntil(java.util.function.BooleanSupplier done, long sliceNanos) throws InterruptedException {
        threads.lock(lock);
        try {
            while (!done.getAsBoolean() && failed == null && controlChanged == null && !closed) {
                threads.await(lock, changed, sliceNanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits for a change after {@code seen} (a count from {@link #changes()} or {@link #head()}), at most {@code nanos}. */
    void awaitChange(long seen, long nanos) throws InterruptedException {
        if (nanos <= 0) {
            return;
        }
        threads.lock(lock);
        try {
            if (changes == seen) {
                threads.await(lock, changed, nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Entries of {@code batches}, in order. */
    static List<TgbEntry> entries(List<QueuedBatch> batches) {
        List<TgbEntry> out = new ArrayList<>(batches.size());
        for (int i = 0; i < batches.size(); i++) {
            out.add(batches.get(i).entry);
        }
        return out;
    }

    private void bump() {
        changes++;
        threads.signalAll(changed);
    }
}
