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
import io.lakestream.log.RecordRange;
import io.lakestream.log.StreamClosedException;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ConditionalPut;
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import io.lakestream.time.Threads;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
 * <p>The parts, split as Kafka splits its producer: a {@link BatchQueue} (the accumulator: queue,
 * groups, backpressure), a {@link Committer} whose {@code runOnce(now)} commits one due group and
 * says when to run again, and object writes handed to a pool of writers. All threads come from
 * the environment's {@link Threads}, so a deterministic simulation runs this same code, committer
 * loop and writers included, as its own actors. With {@link ProducerOptions#writeParallelism()}
 * 0 there are no other threads: the same committer runs on the appending thread, the object is
 * written inline and a due group is committed inside {@code append}.
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
    /** Longest wait of an idle committer between two looks at the queue (a change wakes it at once). */
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final ManifestLog log;
    private final String id;
    private final ProducerOptions options;
    private final Clock clock;
    private final Threads threads;
    private final BatchEncoder encoder;
    private final EncodeBuffers buffers;
    private final BatchQueue queue;
    private final CommitPacer pacer;
    private final Committer committer;
    /** Null: inline (no threads; the appending thread writes and runs the committer). */
    private final Threads.Pool writers;
    private final Threads.Worker committerWorker;
    /** Object writes at once (threaded): the writer threads. */
    private final int parallelism;
    private final AtomicLong bytesWritten = new AtomicLong();
    private volatile boolean closed;
    private volatile int queueFullWait; // batches queued while append waits for room in the queue, else 0
    private volatile long controlRewinds;
    // appending thread's: flow control's poll schedule (0: not waiting; else the current backoff,
    // doubling from 20 ms up to Committer#maxFlowBackoffMillis, and when the log is polled next)
    private long flowBackoffMillis;
    private long nextFlowPollNanos;

    // the appending thread's
    private long nextSeq;

    private TgbProducer(ManifestLog log, String id, ProducerState claimed, ProducerOptions options) {
        this.log = log;
        this.id = id;
        this.options = options;
        this.clock = log.env().clock();
        this.threads = log.env().threads();
        this.nextSeq = claimed.seq() + 1;
        this.encoder = new BatchEncoder(options.codec());
        this.pacer = new CommitPacer(options.initialGroup(), options.maxGroup(), options.adaptive(), options.maxLingerMillis());
        this.queue = new BatchQueue(threads);
        this.committer = new Committer(log, id, options, queue, pacer, claimed);
        int parallelism = Math.max(0, options.writeParallelism());
        this.buffers = new EncodeBuffers(parallelism == 0 ? 1 : 2 * parallelism, threads);
        this.parallelism = parallelism;
        if (parallelism == 0) {
            this.writers = null;
            this.committerWorker = null;
        } else {
            this.writers = threads.pool("lakestream-write-" + id, parallelism);
            log.writeSnapshotsWith(writers);
            this.committerWorker = threads.start("lakestream-commit-" + id, this::runCommitter);
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
        return new TgbProducer(log, producerId, claimed, options);
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
            return Changes.producerState(producerId, next);
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
        return committer.control();
    }

    /** How many times a control change made this producer drop its queued batches and rewind. */
    public long controlRewinds() {
        return controlRewinds;
    }

    public long epoch() {
        return committer.epoch();
    }

    public ManifestLog log() {
        return log;
    }

    /** Sequence number of the last committed batch (0 if none). */
    public long committedSeq() {
        return committer.committedSeq();
    }

    /** Source cursor after the last committed batch (null if none): resume the source here. */
    public String committedCursor() {
        return committer.committedCursor();
    }

    /** Batches appended and not committed yet. */
    public int pendingCount() {
        return queue.size();
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** Versions this producer committed (its epoch claim not counted). */
    public long commits() {
        return committer.commits();
    }

    /** Races for a version lost to any other committer. */
    public long conflicts() {
        return committer.conflicts();
    }

    /** Races lost to versions that committed other producers' batches: what the adaptive group reacts to. */
    public long batchConflicts() {
        return committer.batchConflicts();
    }

    /** The current group target (batches per commit the pacer waits for, at most). */
    public int groupTarget() {
        return pacer.group();
    }

    /**
     * Encodes one global batch, starts writing its object and queues it for commit (committed by
     * the committer thread as the group and the linger bound say; inline, by this call when the
     * group is due). The shards' arrays may be reused by the caller once this returns.
     *
     * @param shards      one tensor map per rank, rank 0 first
     * @param cursorAfter the source position after this batch, stored with it in the log
     * @return the batch's sequence number
     *
     * <p>Shards that carry record ids ({@code record_id}, and {@code last_record_id} for packed
     * samples; I64 or I32, one per sample) get their bounds recorded in the entry
     * ({@link RecordRange}), so lineage's {@code find} reads only the objects that can hold a record.
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
        return append(shards, cursorAfter, controlVersion, -1);
    }

    /**
     * As {@link #append(List, String)}, waiting at most {@code maxWaitMillis} for room (flow
     * control, a full queue): returns -1, having appended nothing, when there was none by then.
     * For a caller that must act between waits: the Python binding calls it in short slices, so
     * Ctrl-C and signal handlers run while flow control holds the producer (Python runs them only
     * between two Java calls), and the producer stays usable (or closable) afterwards.
     * {@link #waitingReason()} says why it waits.
     */
    public long tryAppend(List<? extends Map<String, TensorData>> shards, String cursorAfter, long maxWaitMillis) {
        return append(shards, cursorAfter, null, Math.max(0, maxWaitMillis));
    }

    private long append(List<? extends Map<String, TensorData>> shards, String cursorAfter, Long controlVersion, long maxWaitMillis) {
        checkUsable();
        int w = log.config().worldSize();
        if (shards.size() != w) {
            throw new IllegalArgumentException("global batch has " + shards.size() + " rank shards, stream " + log.store().describe()
                    + " has world size " + w);
        }
        if (!awaitRoom(maxWaitMillis)) {
            return -1;
        }
        RecordRange records = RecordRange.of(shards);
        long seq = nextSeq;
        long ep = committer.epoch();
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
        QueuedBatch b = new QueuedBatch(new TgbEntry(id, ep, seq, cursorAfter, key, object.byteSize(), enc.codec().id(), enc.shards(),
                controlVersion, records), clock.monotonicNanos());
        queue.add(b);
        if (writers == null) {
            appendInline(b, buf, object);
        } else {
            writers.execute(() -> writeAsync(b, buf, object));
        }
        return seq;
    }

    /** Inline: writes the object on this thread, then runs the committer here while it has a due group. */
    private void appendInline(QueuedBatch b, EncodeBuffers.Buffer buf, MemorySegment object) {
        try {
            writeObject(b.entry.object(), object);
        } catch (RuntimeException | Error e) {
            queue.failReported(e);
            throw e;
        } finally {
            buffers.release(buf);
        }
        queue.written(b, null);
        try {
            while (true) {
                long now = clock.monotonicNanos();
                long wake = committer.runOnce(now);
                if (wake == Committer.STOP || wake == Committer.IDLE) {
                    break;
                }
                if (wake - now > 0) {
                    if (!committer.flowBlocked(now)) {
                        break; // the group is not due yet (the linger bound): a later call commits it
                    }
                    // a due group held by flow control: wait here for a checkpoint, as the committer worker would
                    clock.sleep((wake - now + 999_999) / 1_000_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while producer '" + id + "' waited for a checkpoint", e);
            queue.failReported(ise);
            throw ise;
        }
        checkUsable(); // a failed commit is this call's failure
    }

    /** A writer writes one batch object, gives its buffer back and tells the committer. */
    private void writeAsync(QueuedBatch b, EncodeBuffers.Buffer buf, MemorySegment object) {
        Throwable failure = null;
        try {
            writeObject(b.entry.object(), object);
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            buffers.release(buf);
        }
        queue.written(b, failure);
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
        long target = queue.lastSeq();
        if (target < 0) {
            return null;
        }
        queue.flushUpTo(target);
        try {
            if (writers == null) {
                // inline: the committer runs here, and flow control's backoff is slept out here
                while (committer.committedSeq() < target) {
                    long now = clock.monotonicNanos();
                    long wake = committer.runOnce(now);
                    if (wake == Committer.STOP || wake == Committer.IDLE) {
                        break; // failed, or parked by a control change: checkUsable says which
                    }
                    clock.sleep(Math.max(0, (wake - now + 999_999) / 1_000_000)); // rounded up: a 0 ms sleep would not move time on
                }
            } else {
                // drained, not committer.committedSeq(): that moves before the result is recorded
                queue.awaitUntil(() -> queue.drainedUpTo(target), WAIT_SLICE_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while committing batches of producer '" + id + "'", e);
            if (writers == null) {
                queue.failReported(ise);
            }
            throw ise;
        }
        checkUsable();
        return queue.lastResult();
    }

    /**
     * Asks for every queued batch to be committed and waits at most {@code maxWaitMillis} for it:
     * true once none is left queued (then {@link #commit()} returns at once). For a caller that must
     * act between waits (the Python binding, for signals); a failure throws as {@link #commit()}
     * does. Inline (no writer threads) it commits on this thread, as {@link #commit()}.
     */
    public boolean awaitCommitted(long maxWaitMillis) {
        checkUsable();
        long target = queue.lastSeq();
        if (target < 0) {
            return true;
        }
        if (writers == null) {
            commit();
            return true;
        }
        queue.flushUpTo(target);
        long deadline = clock.monotonicNanos() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, maxWaitMillis));
        try {
            while (!queue.drainedUpTo(target)) {
                long left = deadline - clock.monotonicNanos();
                if (left <= 0) {
                    return false;
                }
                queue.awaitUntil(() -> queue.drainedUpTo(target) || clock.monotonicNanos() - deadline >= 0,
                        Math.min(WAIT_SLICE_NANOS, left));
                checkUsable();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while committing batches of producer '" + id + "'", e);
        }
        checkUsable();
        return true;
    }

    /** The last commit's result (null before the first): what {@link #commit()} returns, for a caller that waited with {@link #awaitCommitted}. */
    public CommitResult lastCommitResult() {
        return queue.lastResult();
    }

    /** The committer worker: runs the committer whenever the queue changes or the time it asked for comes, until closed or failed. */
    private void runCommitter() {
        try {
            while (true) {
                long now = clock.monotonicNanos();
                long wake = committer.runOnce(now);
                if (wake == Committer.STOP) {
                    return;
                }
                long wait = wake == Committer.IDLE ? IDLE_WAIT_NANOS : Math.min(IDLE_WAIT_NANOS, wake - now);
                queue.awaitChange(committer.lastSeen(), wait);
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /**
     * The queued batches were generated under a control version no longer in force: drop them
     * (their objects become orphans) and claim a new epoch, so the batches generated again get
     * fresh keys; the committed sequence and cursor are what the log says. The committer is
     * parked meanwhile.
     */
    private void rewindForControl() {
        try {
            queue.dropAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while dropping batches of producer '" + id + "'", e);
            queue.failReported(ise);
            throw ise;
        }
        ProducerState claimed;
        try {
            claimed = claimEpoch(log, id, committer.epoch());
        } catch (RuntimeException | Error e) {
            queue.failReported(e);
            throw e;
        }
        committer.claimed(claimed);
        nextSeq = claimed.seq() + 1;
        controlRewinds++;
        queue.controlResolved();
    }

    /**
     * Before producing more: flow control and, with a committer, a bound on the batches queued.
     * While committed steps plus ours queued would run more than {@code max_lag_steps} ahead of
     * the newest checkpoint, commit what is queued (so nothing ages into an orphan while we wait)
     * and poll the log with the committer's backoff ({@link Committer#maxFlowBackoffMillis}). This
     * is only the early, cheap check on this producer's view; the bound itself is enforced when a commit is validated against the
     * newest state ({@link Committer}), so several producers together cannot overshoot it.
     */
    private boolean awaitRoom(long maxWaitMillis) {
        long bound = log.config().maxLagSteps();
        boolean bounded = maxWaitMillis >= 0;
        long deadline = clock.monotonicNanos() + (bounded ? TimeUnit.MILLISECONDS.toNanos(maxWaitMillis) : 0);
        try {
            while (true) {
                long seen = queue.changes();
                int queued = queue.size();
                boolean lagOk = bound <= 0 || log.state().lagSteps() + queued + 1 <= bound;
                if (lagOk && (writers == null || queued < maxQueued())) {
                    queueFullWait = 0;
                    flowBackoffMillis = 0;
                    return true;
                }
                long now = clock.monotonicNanos();
                long left = bounded ? deadline - now : Long.MAX_VALUE;
                if (!lagOk && queued == 0) {
                    // Poll the log with the committer's backoff (20 ms doubling up to a cap set by the
                    // consumer's pace, or by how long this wait has lasted while that pace is unknown:
                    // Committer#maxFlowBackoffMillis). The schedule lives in fields,
                    // across bounded calls: slicing the wait must not make the log polled more often.
                    if (flowBackoffMillis == 0 || now - nextFlowPollNanos >= 0) {
                        ManifestState s = log.refresh();
                        if (s.lagSteps() + 1 <= bound) {
                            committer.flowWaitOver();
                            flowBackoffMillis = 0;
                            return true;
                        }
                        committer.flowWait(s);
                        long cap = Committer.maxFlowBackoffMillis(s, bound, committer.flowWaitedMillis());
                        flowBackoffMillis = flowBackoffMillis == 0 ? Math.min(Committer.MIN_FLOW_BACKOFF_MILLIS, cap)
                                : Math.min(cap, flowBackoffMillis * 2);
                        nextFlowPollNanos = now + TimeUnit.MILLISECONDS.toNanos(flowBackoffMillis);
                    }
                    if (left <= 0) {
                        return false; // still waiting; waitingReason says why
                    }
                    long sleepNanos = Math.min(nextFlowPollNanos - now, left);
                    for (long l = (sleepNanos + 999_999) / 1_000_000; l > 0 && !closed; l -= 50) {
                        clock.sleep(Math.min(50, l));
                    }
                    checkUsable(); // closed meanwhile: say so rather than poll on
                    continue;
                }
                if (writers == null) {
                    commit(); // inline: the queued batches, as flow control lets them through
                    continue;
                }
                if (lagOk) {
                    queueFullWait = queued; // the text is built only if someone asks (waitingReason)
                } else {
                    queue.flushUpTo(queue.lastSeq()); // commit what is queued while we wait
                }
                if (left <= 0) {
                    return false;
                }
                queue.awaitChange(seen, Math.min(WAIT_SLICE_NANOS, left));
                checkUsable();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while producer '" + id + "' waited for room (" + waitingReason() + ")", e);
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
        String r = committer.waitingReason();
        int q = queueFullWait;
        if (r == null && q > 0) {
            r = "queue full: " + q + " batches appended and not committed yet (at most " + maxQueued() + ")";
        }
        return r;
    }

    /** How many times flow control made this producer wait. */
    public long flowWaits() {
        return committer.flowWaits();
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
        BatchQueue.Problem p = queue.problem();
        if (p == null) {
            return;
        }
        Throwable failure = p.failure();
        if (failure != null) {
            if (p.firstReport()) {
                if (failure instanceof RuntimeException re) {
                    throw re;
                }
                if (failure instanceof Error err) {
                    throw err;
                }
            }
            throw new IllegalStateException("producer '" + id + "' epoch " + committer.epoch() + " failed earlier ("
                    + failure.getMessage() + "); open a new instance to resume from the committed cursor", failure);
        }
        rewindForControl();
        throw p.controlChanged();
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
        closed = true;
        queue.close();
        if (committerWorker != null) {
            try {
                if (!committerWorker.join(TimeUnit.SECONDS.toMillis(30))) {
                    committerWorker.interrupt();
                    committerWorker.join(5_000);
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
            case THEIRS -> throw new SharedEpochException(log.store().describe(), id, committer.epoch(), key);
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
        long epoch = committer.epoch();
        if (cur != null && cur.epoch() > epoch) {
            return new ProducerFencedException(log.store().describe(), id, epoch, cur.epoch());
        }
        if (s.ended()) {
            return new StreamClosedException(log.store().describe(), s.endStep(), "so batch object " + key + " of producer '" + id
                    + "' was reclaimed before it could be committed");
        }
        return new BatchObjectDeletedException(log.store().describe(), id, epoch, key, log.where(key));
    }
}
