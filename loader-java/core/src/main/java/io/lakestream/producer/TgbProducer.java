package io.lakestream.producer;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.BatchEncoder;
import io.lakestream.format.TensorData;
import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamClosedException;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ConditionalPut;
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exactly-once producer of global batches (after Kafka's idempotent producer: epoch +
 * sequence).
 *
 * <p>Lifecycle: {@link #open} claims a new epoch by committing it, which fences every older
 * instance of the same id, and exposes the committed sequence and source cursor to resume from.
 * {@link #append} encodes the batch (the producer's one copy of its bytes, into a reused
 * off-heap buffer), hands its object write to a writer thread and queues it; a committer thread
 * commits written batches in groups paced by {@link CommitPacer} (Decentralized Adaptive
 * Commit), so commits never stall the appending thread; {@link #commit} waits until every
 * queued batch is committed. Before a version names a batch its object is durable (written,
 * fdatasynced, and its directory synced once per group). On commit the log drops batches whose
 * sequence is already committed (a retried commit) and rejects the whole commit if a newer epoch
 * exists ({@link ProducerFencedException}), and every commit once the stream was closed
 * ({@link StreamClosedException}; {@link io.lakestream.log.StreamEnd}).
 *
 * <p>With {@link ProducerOptions#writeParallelism()} 0 there are no other threads: the object is
 * written inline and a full group (or, adaptive, a batch past the linger bound) is committed
 * inside {@code append}, as a deterministic simulation needs.
 *
 * <p>A failure of a write or a commit ends the instance: the failure is thrown by the next
 * {@link #append} or {@link #commit} (the call that started the commit, inline), and every
 * later call throws {@link IllegalStateException}, so a caller retrying the same records cannot
 * commit them twice; a new instance resumes from the committed cursor.
 *
 * <p>One thread drives one producer ({@code append}, {@code commit}, {@code close}); the getters
 * may be read from any thread.
 */
public final class TgbProducer implements AutoCloseable {
    /** Longest single wait of the appending thread, so a deadline or close is noticed. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final System.Logger LOG = System.getLogger(TgbProducer.class.getName());
    /**
     * A producer held by flow control says so once it has waited this long, and again as often
     * (a trainer that records no checkpoints otherwise leaves it blocked and silent). System
     * property {@code lakestream.flowControlLogMillis}; 30 s by default.
     */
    static final long FLOW_LOG_MILLIS = Long.getLong("lakestream.flowControlLogMillis", 30_000);

    private final ManifestLog log;
    private final String id;
    private final ProducerOptions options;
    private final Clock clock;
    private final BatchEncoder encoder;
    private final EncodeBuffers buffers;
    /** Null: inline (no threads). */
    private final ObjectWriters writers;
    private final Thread committer;
    private final CommitPacer pacer;
    /** Object writes at once (threaded): the writer threads. */
    private final int parallelism;
    private final AtomicLong bytesWritten = new AtomicLong();

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled on every change the other side may wait for: a write done, a commit, a failure, a flush, close. */
    private final Condition changed = lock.newCondition();
    // guarded by lock
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long flushUpTo; // commit every batch up to this seq whatever the group
    private Throwable failed;
    private boolean failureReported;
    private ControlChangedException controlChanged;
    private CommitResult lastResult;
    private volatile boolean closed;

    // the appending thread's
    private long nextSeq;
    // written by whoever commits (the committer thread, or the appending thread inline); read by anyone
    private volatile long epoch; // a control change re-claims it (the dropped batches' keys must never be reused)
    private volatile long committedSeq;
    private volatile String committedCursor;
    private volatile ControlRecord control;
    private volatile long commits;
    private volatile long conflicts;
    private volatile long batchConflicts;
    private volatile String waitingReason;
    private volatile int queueFullWait; // batches queued while append waits for room in the queue, else 0
    private volatile long flowWaits;
    /** Monotonic nanos when the current flow-control wait began (-1: not waiting), and of its last log line. */
    private volatile long flowWaitSince = -1;
    private volatile long flowLoggedAt;
    private volatile long controlRewinds;

    /** A batch queued for commit: its manifest entry, when it was appended, and its object write's state (guarded by lock). */
    private static final class Pending {
        final TgbEntry entry;
        final long appendedNanos;
        boolean written;
        Throwable writeFailure;
        boolean nameSynced;

        Pending(TgbEntry entry, long appendedNanos) {
            this.entry = entry;
            this.appendedNanos = appendedNanos;
        }
    }

    private TgbProducer(ManifestLog log, String id, long epoch, ProducerState claimed, ProducerOptions options) {
        this.log = log;
        this.id = id;
        this.epoch = epoch;
        this.options = options;
        this.clock = log.env().clock();
        this.committedSeq = claimed.seq();
        this.committedCursor = claimed.cursor();
        this.nextSeq = claimed.seq() + 1;
        this.control = log.state().control();
        this.encoder = new BatchEncoder(options.codec());
        this.pacer = new CommitPacer(options.initialGroup(), options.maxGroup(), options.adaptive(), options.maxLingerMillis());
        int parallelism = Math.max(0, options.writeParallelism());
        this.buffers = new EncodeBuffers(parallelism == 0 ? 1 : 2 * parallelism);
        this.parallelism = parallelism;
        if (parallelism == 0) {
            this.writers = null;
            this.committer = null;
        } else {
            this.writers = new ObjectWriters(id, parallelism);
            log.writeSnapshotsWith(writers);
            this.committer = new Thread(this::runCommitter, "lakestream-commit-" + id);
            this.committer.setDaemon(true);
            this.committer.start();
        }
    }

    /**
     * Opens (creating the stream from {@code template} if absent) and claims a new epoch.
     *
     * @throws io.lakestream.log.WorldSizeMismatchException if the stream has another world size
     */
    public static TgbProducer open(ObjectStore store, String producerId, StreamConfig template, ProducerOptions options) {
        return open(store, producerId, template, options, StreamEnv.defaults());
    }

    /** As {@link #open(ObjectStore, String, StreamConfig, ProducerOptions)}, with the given environment. */
    public static TgbProducer open(ObjectStore store, String producerId, StreamConfig template, ProducerOptions options,
                                   StreamEnv env) {
        Keys.validateId("producer id", producerId);
        ManifestLog log = ManifestLog.openOrCreate(store, template, env, options.allowUnsafeStore());
        ProducerState claimed = claimEpoch(log, producerId, 0);
        return new TgbProducer(log, producerId, claimed.epoch(), claimed, options);
    }


    /** Commits the next epoch of {@code producerId}; fenced if one above {@code mine} (0: any) was claimed meanwhile. */
    private static ProducerState claimEpoch(ManifestLog log, String producerId, long mine) {
        CommitResult r = log.commit(producerId, s -> {
            if (s.ended()) {
                throw new StreamClosedException(log.store().describe(), s.endStep(), "so producer '" + producerId
                        + "' was not started: no batch could ever be committed");
            }
            ProducerState cur = s.producer(producerId);
            if (mine > 0 && cur.epoch() != mine) {
                throw new ProducerFencedException(log.store().describe(), producerId, mine, cur.epoch());
            }
            ProducerState next = cur == null ? new ProducerState(1, 0, null) : new ProducerState(cur.epoch() + 1, cur.seq(), cur.cursor());
            return new Changes(Map.of(producerId, next), List.of(), List.of());
        });
        return r.state().producer(producerId);
    }

    public String id() {
        return id;
    }

    /**
     * The control record this producer knows to be in force (null: none yet), as of its last
     * commit. A producer that follows control records generates its next batch under it and
     * passes its version to {@link #append(List, String, Long)}.
     */
    public ControlRecord control() {
        return control;
    }

    /** How many times a control change made this producer drop its queued batches and rewind. */
    public long controlRewinds() {
        return controlRewinds;
    }

    public long epoch() {
        return epoch;
    }

    public ManifestLog log() {
        return log;
    }

    /** Sequence number of the last committed batch (0 if none). */
    public long committedSeq() {
        return committedSeq;
    }

    /** Source cursor after the last committed batch (null if none): resume the source here. */
    public String committedCursor() {
        return committedCursor;
    }

    /** Batches appended and not committed yet. */
    public int pendingCount() {
        lock.lock();
        try {
            return pending.size();
        } finally {
            lock.unlock();
        }
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** Versions this producer committed (its epoch claim not counted). */
    public long commits() {
        return commits;
    }

    /** Races for a version lost to any other committer. */
    public long conflicts() {
        return conflicts;
    }

    /** Races lost to versions that committed other producers' batches: what the adaptive group reacts to. */
    public long batchConflicts() {
        return batchConflicts;
    }

    /** The current group target (batches per commit the pacer waits for, at most). */
    public int groupTarget() {
        return pacer.group();
    }

    /**
     * Encodes one global batch, starts writing its object and queues it for commit (committed by
     * the committer thread as the group and the linger bound say; inline, by this call when the
     * group is full). The shards' arrays may be reused by the caller once this returns.
     *
     * @param shards      one tensor map per rank, rank 0 first
     * @param cursorAfter the source position after this batch, stored with it in the log
     * @return the batch's sequence number
     */
    public long append(List<? extends Map<String, TensorData>> shards, String cursorAfter) {
        return append(shards, cursorAfter, null);
    }

    /**
     * As {@link #append(List, String)}, for a producer that follows control records:
     * {@code controlVersion} is the version the batch was generated under ({@code control()}'s,
     * 0 when there is none; null: does not follow). The commit refuses it unless that version is
     * still in force, with a {@link ControlChangedException} (thrown by the next call) after
     * which the caller resumes at {@link #committedCursor()} under the new {@link #control()}.
     */
    public long append(List<? extends Map<String, TensorData>> shards, String cursorAfter, Long controlVersion) {
        checkUsable();
        int w = log.config().worldSize();
        if (shards.size() != w) {
            throw new IllegalArgumentException("global batch has " + shards.size() + " rank shards, stream " + log.store().describe()
                    + " has world size " + w);
        }
        awaitRoom();
        long seq = nextSeq;
        long ep = epoch;
        String key = StreamLayout.batchObjectKey(log.config(), id, ep, seq);
        EncodeBuffers.Buffer buf;
        try {
            buf = buffers.acquire(encoder.maxSize(shards));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for an encode buffer of producer '" + id + "'", e);
        }
        BatchEncoder.Encoded enc;
        try {
            enc = encoder.encode(shards, id, ep, seq, buf.memory());
        } catch (RuntimeException | Error e) {
            buffers.release(buf); // bad input: nothing was written, the instance goes on
            throw e;
        }
        nextSeq++;
        MemorySegment object = enc.object();
        Pending p = new Pending(new TgbEntry(id, ep, seq, cursorAfter, key, object.byteSize(), enc.codec().id(), enc.shards(),
                controlVersion), clock.monotonicNanos());
        if (writers == null) {
            appendInline(p, buf, object);
        } else {
            lock.lock();
            try {
                pending.add(p);
            } finally {
                lock.unlock();
            }
            writers.execute(() -> writeAsync(p, buf, object));
        }
        return seq;
    }

    private void appendInline(Pending p, EncodeBuffers.Buffer buf, MemorySegment object) {
        try {
            writeObject(p.entry.object(), object);
        } catch (RuntimeException | Error e) {
            failed = e;
            failureReported = true;
            throw e;
        } finally {
            buffers.release(buf);
        }
        p.written = true;
        pending.add(p);
        if (pacer.due(pending.size(), pending.peekFirst().appendedNanos, clock.monotonicNanos())) {
            commitInline();
        }
    }

    /** A writer thread writes one batch object, gives its buffer back and tells the committer. */
    private void writeAsync(Pending p, EncodeBuffers.Buffer buf, MemorySegment object) {
        Throwable failure = null;
        try {
            writeObject(p.entry.object(), object);
        } catch (Throwable t) {
            failure = t;
        } finally {
            buffers.release(buf);
        }
        lock.lock();
        try {
            if (failure == null) {
                p.written = true;
            } else {
                p.writeFailure = failure;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Commits every queued batch and returns the last commit's result, or null if nothing was
     * queued. Waits (as flow control says) until they are all committed.
     *
     * <p>A commit that fails (the store, a lost race past the deadline, an unknown outcome, a
     * newer epoch) fails this instance for good: this call throws it, and every later call throws,
     * so a caller that retries the same records cannot commit them twice. Open a new instance; it
     * resumes from the committed cursor, which says exactly which records are in the log.
     */
    public CommitResult commit() {
        checkUsable();
        if (writers == null) {
            return pending.isEmpty() ? null : commitInline();
        }
        lock.lock();
        try {
            if (pending.isEmpty()) {
                return null;
            }
            long target = pending.peekLast().entry.seq();
            flushUpTo = Math.max(flushUpTo, target);
            changed.signalAll();
            while (committedSeq < target && failed == null && controlChanged == null && !closed) {
                changed.awaitNanos(WAIT_SLICE_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while committing batches of producer '" + id + "'", e);
        } finally {
            lock.unlock();
        }
        checkUsable();
        return lastResult;
    }

    // ---------------------------------------------------------------- committing

    /** The committer thread: commits written batches when the pacer (or a flush) says, until closed or failed. */
    private void runCommitter() {
        lock.lock();
        try {
            while (!closed && failed == null) {
                Pending head = pending.peekFirst();
                if (head == null || controlChanged != null) {
                    changed.await();
                    continue;
                }
                int ready = 0;
                Throwable writeFailure = null;
                for (Pending p : pending) {
                    if (p.writeFailure != null) {
                        writeFailure = p.writeFailure;
                        break;
                    }
                    if (!p.written) {
                        break;
                    }
                    ready++;
                }
                if (writeFailure != null) {
                    failed = writeFailure; // a batch that cannot be written can never be committed: the instance ends
                    changed.signalAll();
                    break;
                }
                long now = clock.monotonicNanos();
                if (ready > 0 && (flushUpTo >= head.entry.seq() || pacer.due(ready, head.appendedNanos, now))) {
                    lock.unlock();
                    Throwable failure = null;
                    try {
                        commitReady();
                    } catch (Throwable t) {
                        failure = t;
                    }
                    lock.lock();
                    if (failure instanceof ControlChangedException c) {
                        controlChanged = c; // the appending thread rewinds (see checkUsable)
                    } else if (failure != null) {
                        failed = failure;
                    }
                    changed.signalAll();
                    continue;
                }
                long wake = ready > 0 ? pacer.wakeAt(head.appendedNanos) : Long.MAX_VALUE;
                if (wake == Long.MAX_VALUE) {
                    changed.await();
                } else if (wake - now > 0) {
                    changed.awaitNanos(wake - now);
                }
            }
        } catch (InterruptedException e) {
            // closing
        } finally {
            lock.unlock();
        }
    }

    /**
     * The committer thread's commit: the batches written by now (more join if a race is lost and
     * the commit is prepared again), waiting for checkpoints while flow control allows none.
     */
    private void commitReady() throws InterruptedException {
        long wait = 20;
        while (!closed) {
            long t0 = clock.monotonicNanos();
            CommitResult r = log.commit(id, s -> prepare(s, readyEntries()));
            long before = committedSeq;
            afterCommit(r, t0);
            if (committedSeq > before || !hasWrittenBatches()) {
                return; // progress (or nothing left): the pacer decides the next commit
            }
            waitForCheckpoint(r.state(), wait);
            wait = Math.min(1000, wait * 2);
        }
    }

    /** Inline: commits every queued batch on this thread, in as many versions as flow control takes. */
    private CommitResult commitInline() {
        try {
            CommitResult r = null;
            long wait = 20;
            while (!pending.isEmpty()) {
                long t0 = clock.monotonicNanos();
                try {
                    r = log.commit(id, s -> prepare(s, readyEntries()));
                } catch (ControlChangedException e) {
                    rewindForControl();
                    throw e;
                }
                long before = committedSeq;
                afterCommit(r, t0);
                if (pending.isEmpty()) {
                    break;
                }
                if (committedSeq > before) {
                    wait = 20;
                    continue; // flow control let part of the group through: commit the rest as room allows
                }
                waitForCheckpoint(r.state(), wait);
                wait = Math.min(1000, wait * 2);
            }
            return r;
        } catch (ControlChangedException e) {
            throw e; // the queued batches were dropped and a new epoch claimed: this instance goes on
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while waiting for a checkpoint", e);
            failed = ise;
            failureReported = true;
            throw ise;
        } catch (RuntimeException | Error e) {
            failed = e;
            failureReported = true;
            throw e;
        }
    }

    /**
     * The entries of the written batches at the head of the queue (at most a full group), in
     * sequence order; their objects' names are made durable (one directory sync) before a version
     * may name them.
     */
    private List<TgbEntry> readyEntries() {
        List<TgbEntry> out = new ArrayList<>();
        List<Pending> unsynced = null;
        lock.lock();
        try {
            for (Pending p : pending) {
                if (!p.written || out.size() >= options.maxGroup()) {
                    break;
                }
                out.add(p.entry);
                if (!p.nameSynced) {
                    if (unsynced == null) {
                        unsynced = new ArrayList<>();
                    }
                    unsynced.add(p);
                }
            }
        } finally {
            lock.unlock();
        }
        if (unsynced != null) {
            List<String> keys = new ArrayList<>(unsynced.size());
            for (Pending p : unsynced) {
                keys.add(p.entry.object());
            }
            log.store().syncNames(keys);
            lock.lock();
            try {
                for (Pending p : unsynced) {
                    p.nameSynced = true;
                }
            } finally {
                lock.unlock();
            }
        }
        return out;
    }

    private boolean hasWrittenBatches() {
        lock.lock();
        try {
            return !pending.isEmpty() && pending.peekFirst().written;
        } finally {
            lock.unlock();
        }
    }

    /** Learns a commit's outcome: the committed position, the pacer's inputs, and which queued batches are done. */
    private void afterCommit(CommitResult r, long startedNanos) {
        log.env().failPoints().hit(FailPoints.AFTER_COMMIT);
        ProducerState mine = r.state().producer(id);
        control = r.state().control();
        committedSeq = mine.seq();
        committedCursor = mine.cursor();
        conflicts += r.conflicts();
        batchConflicts += r.batchConflicts();
        if (r.committed()) {
            commits++;
            long now = clock.monotonicNanos();
            pacer.onCommit(r.batchConflicts(), now - startedNanos, now);
        }
        lock.lock();
        try {
            while (!pending.isEmpty() && pending.peekFirst().entry.seq() <= committedSeq) {
                pending.pollFirst();
            }
            lastResult = r;
            if (pending.isEmpty()) {
                waitingReason = null;
                flowWaitSince = -1;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Flow control allows no more steps now: wait (backing off) for a newer checkpoint; close ends the wait. */
    private void waitForCheckpoint(ManifestState s, long waitMillis) throws InterruptedException {
        waitingReason = "flow control: " + s.lagSteps() + " committed steps beyond the latest checkpoint ("
                + (s.latestCheckpoint() == null ? "none" : "step " + s.latestCheckpoint().step()) + "), bound is "
                + log.config().maxLagSteps();
        flowWaits++;
        long now = clock.monotonicNanos();
        if (flowWaitSince < 0) {
            flowWaitSince = now;
            flowLoggedAt = now;
        } else if (now - flowLoggedAt >= TimeUnit.MILLISECONDS.toNanos(FLOW_LOG_MILLIS)) {
            flowLoggedAt = now;
            LOG.log(System.Logger.Level.WARNING, "producer '" + id + "' on " + log.store().describe() + " has waited "
                    + String.format("%.1f", (now - flowWaitSince) / 1e9) + " s for a checkpoint: flow control lag "
                    + s.lagSteps() + " of " + log.config().maxLagSteps() + " (newest checkpoint: "
                    + (s.latestCheckpoint() == null ? "none" : "step " + s.latestCheckpoint().step())
                    + "); the trainer must record its checkpoints (record_checkpoint / lakestream checkpoint)");
        }
        for (long left = waitMillis; left > 0 && !closed; left -= 50) {
            clock.sleep(Math.min(50, left));
        }
    }

    /**
     * The queued batches were generated under a control version no longer in force: drop them
     * (their objects become orphans) and claim a new epoch, so the batches generated again get
     * fresh keys; the committed sequence and cursor are what the log says. The committer is
     * parked meanwhile (inline there is none).
     */
    private void rewindForControl() {
        lock.lock();
        try {
            // writes in flight hold encode buffers and the old keys: let them land (as orphans) first
            while (true) {
                boolean inFlight = false;
                for (Pending p : pending) {
                    inFlight |= !p.written && p.writeFailure == null;
                }
                if (!inFlight) {
                    break;
                }
                changed.awaitNanos(WAIT_SLICE_NANOS);
            }
            pending.clear();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed = new IllegalStateException("interrupted while dropping batches of producer '" + id + "'", e);
            failureReported = true;
            throw (IllegalStateException) failed;
        } finally {
            lock.unlock();
        }
        ProducerState claimed;
        try {
            claimed = claimEpoch(log, id, epoch);
        } catch (RuntimeException | Error e) {
            failed = e;
            failureReported = true;
            throw e;
        }
        epoch = claimed.epoch();
        committedSeq = claimed.seq();
        committedCursor = claimed.cursor();
        nextSeq = committedSeq + 1;
        control = log.state().control();
        controlRewinds++;
        lock.lock();
        try {
            controlChanged = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Before producing more: flow control and, with a committer, a bound on the batches queued.
     * While committed steps plus ours queued would run more than {@code max_lag_steps} ahead of
     * the newest checkpoint, commit what is queued (so nothing ages into an orphan while we wait)
     * and poll the log with a backoff of up to a second. This is only the early, cheap check on
     * this producer's view; the bound itself is enforced when a commit is validated against the
     * newest state ({@link #prepare}), so several producers together cannot overshoot it.
     */
    private void awaitRoom() {
        long bound = log.config().maxLagSteps();
        long wait = 20;
        try {
            while (true) {
                int queued = pendingCount();
                boolean lagOk = bound <= 0 || log.state().lagSteps() + queued + 1 <= bound;
                if (lagOk && (writers == null || queued < maxQueued())) {
                    queueFullWait = 0;
                    return;
                }
                if (!lagOk && queued == 0) {
                    ManifestState s = log.refresh();
                    if (s.lagSteps() + 1 <= bound) {
                        waitingReason = null;
                        flowWaitSince = -1;
                        return;
                    }
                    waitForCheckpoint(s, wait);
                    wait = Math.min(1000, wait * 2);
                    continue;
                }
                if (writers == null) {
                    commit(); // inline: the queued batches, as flow control lets them through
                    continue;
                }
                if (lagOk) {
                    queueFullWait = queued; // the text is built only if someone asks (waitingReason)
                }
                lock.lock();
                try {
                    if (!lagOk && !pending.isEmpty()) { // the committer may have taken them meanwhile
                        flushUpTo = Math.max(flushUpTo, pending.peekLast().entry.seq());
                        changed.signalAll();
                    }
                    if (failed == null && controlChanged == null) {
                        changed.awaitNanos(WAIT_SLICE_NANOS);
                    }
                } finally {
                    lock.unlock();
                }
                checkUsable();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while producer '" + id + "' waited for room (" + waitingReason + ")", e);
        }
    }

    /**
     * Batches appended and not committed yet beyond which append waits (threaded): two per writer
     * thread (one being written, one written and waiting for its commit). Queued batches are
     * latency (at r batches a second, q queued ones wait q / r) and a longer queue would not write
     * or commit any faster, so the queue does not grow with the group target: under contention the
     * pacer spaces commits, and the linger bound caps how long a group may gather. A fixed group
     * (not adaptive) has no linger bound and commits only when full, so the queue holds a whole
     * group (written batches hold no encode buffer, only their entries): otherwise an append
     * would wait for a group that cannot fill.
     */
    private int maxQueued() {
        return options.adaptive() ? 2 * parallelism : Math.max(2 * parallelism, pacer.group());
    }

    /** Why {@link #append} is blocked right now, or null. */
    public String waitingReason() {
        String r = waitingReason;
        int q = queueFullWait;
        if (r == null && q > 0) {
            r = "queue full: " + q + " batches appended and not committed yet (at most " + maxQueued() + ")";
        }
        return r;
    }

    /** How many times flow control made this producer sleep. */
    public long flowWaits() {
        return flowWaits;
    }


    private Changes prepare(ManifestState s, List<TgbEntry> batch) {
        ProducerState cur = s.producer(id);
        if (cur == null || cur.epoch() != epoch) {
            long current = cur == null ? 0 : cur.epoch();
            if (current > epoch) {
                throw new ProducerFencedException(log.store().describe(), id, epoch, current);
            }
            throw new IllegalStateException("log of " + log.store().describe() + " does not show epoch " + epoch
                    + " of producer '" + id + "' (shows " + current + ")");
        }
        List<TgbEntry> fresh = new ArrayList<>(batch.size());
        for (TgbEntry t : batch) {
            if (t.seq() > cur.seq()) {
                fresh.add(t);
            }
        }
        if (fresh.isEmpty()) {
            return Changes.NONE; // every batch already committed: an idempotent retry
        }
        for (TgbEntry t : fresh) {
            if (t.control() != null && t.control() > s.controlVersion()) {
                throw new IllegalArgumentException("producer '" + id + "' stamped a batch with control version " + t.control()
                        + ", but the newest in the log of " + log.store().describe() + " is " + s.controlVersion());
            }
            if (t.control() != null && t.control() != s.controlVersion()) {
                throw new ControlChangedException(log.store().describe(), id, t.control(), s.control());
            }
        }
        if (fresh.get(0).seq() != cur.seq() + 1) {
            throw new SequenceGapException(log.store().describe(), id, cur.seq(), fresh.get(0).seq());
        }
        // Flow control, decided on the state this version extends: with several producers, each
        // one's own view is stale, and only here can the bound hold for all of them together.
        long bound = log.config().maxLagSteps();
        if (bound > 0) {
            long room = bound - s.lagSteps();
            if (room <= 0) {
                return Changes.NONE; // commit() waits for a checkpoint and tries again
            }
            if (room < fresh.size()) {
                fresh = fresh.subList(0, (int) room);
            }
        }
        TgbEntry last = fresh.get(fresh.size() - 1);
        return new Changes(Map.of(id, new ProducerState(epoch, last.seq(), last.cursor())), fresh, List.of());
    }

    /**
     * Throws what ended or interrupted this instance: closed; a control change (after rewinding,
     * so the caller resumes from the committed cursor); a failure, itself the first time it is
     * reported and an {@link IllegalStateException} after.
     */
    private void checkUsable() {
        if (closed) {
            throw new IllegalStateException("producer '" + id + "' is closed");
        }
        ControlChangedException changedControl;
        Throwable failure;
        boolean firstReport;
        lock.lock();
        try {
            changedControl = controlChanged;
            failure = failed;
            firstReport = failure != null && !failureReported;
            if (failure != null) {
                failureReported = true;
            }
        } finally {
            lock.unlock();
        }
        if (failure != null) {
            if (firstReport) {
                if (failure instanceof RuntimeException re) {
                    throw re;
                }
                if (failure instanceof Error err) {
                    throw err;
                }
            }
            throw new IllegalStateException("producer '" + id + "' epoch " + epoch + " failed earlier (" + failure.getMessage()
                    + "); open a new instance to resume from the committed cursor", failure);
        }
        if (changedControl != null) {
            rewindForControl();
            throw changedControl;
        }
    }

    /**
     * Closes without committing: queued batches stay uncommitted (orphans for GC). A commit in
     * progress is finished first; object writes in flight land; a snapshot being written is
     * waited for.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (committer != null) {
            try {
                committer.join(TimeUnit.SECONDS.toMillis(30));
                if (committer.isAlive()) {
                    committer.interrupt();
                    committer.join(5_000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            writers.close();
            log.awaitSnapshots(30_000);
        }
        buffers.close();
    }

    private void writeObject(String key, MemorySegment object) {
        // A fresh key per (epoch, seq): put-if-absent never collides with a crashed predecessor.
        // It can find the key taken by our own earlier attempt, though: one that landed without
        // an answer, which the store's retry (S3's SDK, the file store's retry layer) then meets.
        // Identical bytes mean just that; anything else is a shared epoch. The name is made
        // durable with the group's directory sync, before a version names it (readyEntries).
        switch (ConditionalPut.put(log.store(), key, object, false)) {
            case CREATED, OURS -> { }
            case THEIRS -> throw new SharedEpochException(log.store().describe(), id, epoch, key);
            case VANISHED -> throw vanished(key);
        }
        bytesWritten.addAndGet(object.byteSize());
        log.env().failPoints().hit(FailPoints.AFTER_OBJECT_WRITE);
    }


    /**
     * Our batch object was found taken and then gone: GC reclaimed it as an orphan, which it does
     * only once this producer can no longer commit it. Say why, from the log.
     */
    private RuntimeException vanished(String key) {
        ManifestState s = log.refresh();
        ProducerState cur = s.producer(id);
        if (cur != null && cur.epoch() > epoch) {
            return new ProducerFencedException(log.store().describe(), id, epoch, cur.epoch());
        }
        if (s.ended()) {
            return new StreamClosedException(log.store().describe(), s.endStep(), "so batch object " + key + " of producer '" + id
                    + "' was reclaimed before it could be committed");
        }
        return new IllegalStateException("batch object " + log.where(key) + " was taken and then deleted before producer '" + id
                + "' epoch " + epoch + " could read it back, although the log does not fence it: something other than"
                + " Lakestream's GC deletes batch objects");
    }
}
