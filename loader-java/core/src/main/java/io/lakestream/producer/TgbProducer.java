package io.lakestream.producer;

import io.lakestream.StreamEnv;
import io.lakestream.format.BatchEncoder;
import io.lakestream.format.TensorData;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.RecordRange;
import io.lakestream.log.StreamClosedException;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import io.lakestream.time.Threads;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
 * says when to run again, run by a {@link CommitterRunner}; a {@link BatchWriter} that writes the
 * objects on a pool of writers; an {@link AppendGate} that holds appends for flow control and a
 * full queue; {@link EpochClaim} for the epochs claimed. The producer encodes, numbers and queues
 * batches, reports what ended the instance and closes the parts in order. All threads come from
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

    private final ManifestLog log;
    private final String id;
    private final ProducerOptions options;
    private final Clock clock;
    private final BatchEncoder encoder;
    private final EncodeBuffers buffers;
    private final BatchQueue queue;
    private final CommitPacer pacer;
    private final Committer committer;
    private final BatchWriter writer;
    private final CommitterRunner runner;
    private final AppendGate gate;
    private volatile boolean closed;
    private volatile long controlRewinds;

    // the appending thread's
    private long nextSeq;

    private TgbProducer(ManifestLog log, String id, ProducerState claimed, ProducerOptions options) {
        this.log = log;
        this.id = id;
        this.options = options;
        this.clock = log.env().clock();
        Threads threads = log.env().threads();
        this.nextSeq = claimed.seq() + 1;
        this.encoder = new BatchEncoder(options.codec());
        this.pacer = new CommitPacer(options.initialGroup(), options.maxGroup(), options.adaptive(), options.maxLingerMillis());
        this.queue = new BatchQueue(threads);
        int parallelism = Math.max(0, options.writeParallelism());
        this.committer = new Committer(log, id, options, queue, pacer, claimed, parallelism > 0);
        // one buffer per writer, and two more so the appending thread encodes while every writer is busy
        this.buffers = new EncodeBuffers(parallelism == 0 ? 1 : parallelism + 2, threads);
        this.gate = new AppendGate(log, queue, committer, pacer, clock, options.adaptive(), parallelism);
        this.writer = new BatchWriter(log, id, queue, committer, buffers, parallelism);
        this.runner = new CommitterRunner(committer, queue, threads, clock, id, writer.threaded());
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
        ProducerState claimed = EpochClaim.claim(log, producerId, 0);
        return new TgbProducer(log, producerId, claimed, options);
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
        return writer.bytesWritten();
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
        if (writer.threaded()) {
            writer.submit(b, buf, object);
        } else {
            // inline: write the object here, then run the committer here while it has a due group
            writer.writeInline(b, buf, object);
            runner.commitDue();
            checkUsable(); // a failed commit is this call's failure
        }
        return seq;
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
            if (!writer.threaded()) {
                // inline: the committer runs here, and flow control's backoff is slept out here
                runner.commitUpTo(target);
            } else {
                // drained, not committer.committedSeq(): that moves before the result is recorded
                queue.awaitUntil(() -> queue.drainedUpTo(target), WAIT_SLICE_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            IllegalStateException ise = new IllegalStateException("interrupted while committing batches of producer '" + id + "'", e);
            if (!writer.threaded()) {
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
        if (!writer.threaded()) {
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

    /**
     * Before producing more: waits at most {@code maxWaitMillis} (negative: as long as it takes)
     * for room, as the {@link AppendGate} says, checking between its waits that this instance is
     * still usable; false if there was none by then.
     */
    private boolean awaitRoom(long maxWaitMillis) {
        boolean bounded = maxWaitMillis >= 0;
        long deadline = clock.monotonicNanos() + (bounded ? TimeUnit.MILLISECONDS.toNanos(maxWaitMillis) : 0);
        try {
            while (true) {
                switch (gate.await(bounded, deadline)) {
                    case ROOM -> {
                        return true;
                    }
                    case TIMED_OUT -> {
                        return false;
                    }
                    case COMMIT_INLINE -> commit();
                    case WAITED -> checkUsable(); // closed or failed meanwhile: say so rather than wait on
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while producer '" + id + "' waited for room (" + waitingReason() + ")", e);
        }
    }

    /** Why {@link #append} is blocked right now, or null. */
    public String waitingReason() {
        return gate.waitingReason();
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
     * The queued batches were generated under a control version no longer in force: drop them and
     * claim a new epoch ({@link EpochClaim#rewind}), so the batches generated again get fresh keys
     * and sequence numbers after the committed one.
     */
    private void rewindForControl() {
        ProducerState claimed = EpochClaim.rewind(log, id, queue, committer);
        nextSeq = claimed.seq() + 1;
        controlRewinds++;
        queue.controlResolved();
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
        gate.close();
        queue.close();
        runner.close();
        committer.close();
        writer.close();
        buffers.close();
    }
}
