package io.lakestream.producer;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.BatchObject;
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
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ConditionalPut;
import java.util.ArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.List;
import java.util.Map;

/**
 * An exactly-once producer of global batches (after Kafka's idempotent producer: epoch +
 * sequence).
 *
 * <p>Lifecycle: {@link #open} claims a new epoch by committing it, which fences every older
 * instance of the same id, and exposes the committed sequence and source cursor to resume from.
 * {@link #append} writes the batch object at once (so a crash leaves at most an orphan) and
 * queues it; {@link #commit} commits every queued batch in one manifest version. On commit the
 * log drops batches whose sequence is already committed (a retried commit) and rejects the
 * whole commit if a newer epoch exists ({@link ProducerFencedException}), and every commit once
 * the stream was closed ({@link StreamClosedException}; {@link io.lakestream.log.StreamEnd}).
 *
 * <p>Not thread-safe: one thread drives one producer.
 */
public final class TgbProducer implements AutoCloseable {
    private final ManifestLog log;
    private final String id;
    private long epoch; // a control change re-claims it (the dropped batches' keys must never be reused)
    private final ProducerOptions options;
    private final List<Pending> pending = new ArrayList<>();
    private final ObjectWriters writers;
    private final java.util.concurrent.atomic.AtomicLong bytesWrittenAtomic = new java.util.concurrent.atomic.AtomicLong();
    private long nextSeq;
    private long committedSeq;
    private String committedCursor;
    private int groupTarget;
    private long commits;
    private long conflicts;
    private boolean closed;
    private Throwable failed;
    private volatile String waitingReason;
    private long flowWaits;
    private ControlRecord control;
    private long controlRewinds;

    private TgbProducer(ManifestLog log, String id, long epoch, ProducerState claimed, ProducerOptions options) {
        this.log = log;
        this.id = id;
        this.epoch = epoch;
        this.options = options;
        this.committedSeq = claimed.seq();
        this.committedCursor = claimed.cursor();
        this.nextSeq = claimed.seq() + 1;
        this.groupTarget = Math.max(1, options.initialGroup());
        this.writers = new ObjectWriters(id, Math.max(0, options.writeParallelism()));
        this.control = log.state().control();
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

    public int pendingCount() {
        return pending.size();
    }

    public long bytesWritten() {
        return bytesWrittenAtomic.get();
    }

    public long commits() {
        return commits;
    }

    public long conflicts() {
        return conflicts;
    }

    public int groupTarget() {
        return groupTarget;
    }

    /**
     * Writes one global batch object and queues it for commit; commits when the adaptive group
     * is full.
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
     * still in force, with a {@link ControlChangedException} after which the caller resumes at
     * {@link #committedCursor()} under the new {@link #control()}.
     */
    public long append(List<? extends Map<String, TensorData>> shards, String cursorAfter, Long controlVersion) {
        checkOpen();
        awaitFlowControl();
        int w = log.config().worldSize();
        if (shards.size() != w) {
            throw new IllegalArgumentException("global batch has " + shards.size() + " rank shards, stream " + log.store().describe()
                    + " has world size " + w);
        }
        long seq = nextSeq;
        String key = StreamLayout.batchObjectKey(log.config(), id, epoch, seq);
        BatchObject.Encoded enc = BatchObject.encode(shards, options.codec(),
                Map.of("producer", id, "epoch", Long.toString(epoch), "seq", Long.toString(seq)));
        // Bound the encoded batches held in memory by writes in flight.
        while (inFlight() >= 2 * writers.parallelism()) {
            await(oldestInFlight());
        }
        Future<?> written = writers.submit(() -> writeObject(key, enc.bytes()));
        nextSeq++;
        pending.add(new Pending(new TgbEntry(id, epoch, seq, cursorAfter, key, enc.bytes().length, enc.codec().id(), enc.shards(),
                controlVersion), written));
        if (pending.size() >= groupTarget) {
            commit();
        }
        return seq;
    }

    /**
     * Commits every queued batch, in one version when flow control allows (else in as many as it
     * takes, waiting for checkpoints in between). Returns the last commit's result, or null if
     * nothing was queued.
     *
     * <p>A commit that fails (the store, a lost race past the deadline, an unknown outcome, a
     * newer epoch) fails this instance for good: every later call throws, so a caller that retries
     * the same records cannot commit them twice. Open a new instance; it resumes from the
     * committed cursor, which says exactly which records are in the log.
     */
    public CommitResult commit() {
        checkOpen();
        if (pending.isEmpty()) {
            return null;
        }
        try {
            return commitPending();
        } catch (ControlChangedException e) {
            throw e; // the queued batches were dropped and a new epoch claimed: this instance goes on
        } catch (RuntimeException | Error e) {
            failed = e;
            throw e;
        }
    }

    private CommitResult commitPending() {
        // Every batch object must be durable before a version may name it.
        for (Pending p : pending) {
            await(p.written());
        }
        CommitResult r = null;
        long wait = 20;
        while (!pending.isEmpty()) {
            final List<TgbEntry> batch = pending.stream().map(Pending::entry).toList();
            try {
                r = log.commit(id, s -> prepare(s, batch));
            } catch (ControlChangedException e) {
                rewindForControl();
                throw e;
            }
            log.env().failPoints().hit(FailPoints.AFTER_COMMIT);
            ProducerState mine = r.state().producer(id);
            control = r.state().control();
            long before = committedSeq;
            committedSeq = mine.seq();
            committedCursor = mine.cursor();
            pending.removeIf(p -> p.entry().seq() <= committedSeq);
            commits++;
            conflicts += r.conflicts();
            if (options.adaptive()) {
                groupTarget = r.conflicts() > 0 ? Math.min(options.maxGroup(), groupTarget * 2)
                        : Math.max(Math.max(1, options.initialGroup()), groupTarget - 1);
            }
            if (pending.isEmpty()) {
                waitingReason = null;
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
    }

    /** Flow control allows no more steps now: wait (backing off) for a newer checkpoint. */
    private void waitForCheckpoint(ManifestState s, long waitMillis) {
        waitingReason = "flow control: " + s.lagSteps() + " committed steps beyond the latest checkpoint ("
                + (s.latestCheckpoint() == null ? "none" : "step " + s.latestCheckpoint().step()) + "), bound is "
                + log.config().maxLagSteps();
        flowWaits++;
        try {
            log.env().clock().sleep(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a checkpoint (" + waitingReason + ")", e);
        }
    }

    /**
     * The queued batches were generated under a control version no longer in force: drop them
     * (their objects become orphans) and claim a new epoch, so the batches generated again get
     * fresh keys; the committed sequence and cursor are what the log says.
     */
    private void rewindForControl() {
        for (Pending p : pending) {
            try {
                p.written().get();
            } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                // an orphan either way
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failed = new IllegalStateException("interrupted while dropping batches of producer '" + id + "'", e);
                throw (IllegalStateException) failed;
            }
        }
        pending.clear();
        ProducerState claimed = claimEpoch(log, id, epoch);
        epoch = claimed.epoch();
        committedSeq = claimed.seq();
        committedCursor = claimed.cursor();
        nextSeq = committedSeq + 1;
        control = log.state().control();
        controlRewinds++;
    }

    /**
     * Flow control before producing more: while committed steps plus ours queued would run more
     * than {@code max_lag_steps} ahead of the newest checkpoint, commit what is queued (so nothing
     * ages into an orphan while we wait) and poll the log with a backoff of up to a second. This
     * is only the early, cheap check on this producer's view; the bound itself is enforced when a
     * commit is validated against the newest state ({@link #prepare}), so several producers
     * together cannot overshoot it.
     */
    private void awaitFlowControl() {
        long bound = log.config().maxLagSteps();
        if (bound <= 0) {
            return;
        }
        long wait = 20;
        while (true) {
            ManifestState s = log.state();
            if (s.lagSteps() + pending.size() + 1 <= bound) {
                waitingReason = null;
                return;
            }
            if (!pending.isEmpty()) {
                commit();
                continue;
            }
            s = log.refresh();
            if (s.lagSteps() + 1 <= bound) {
                waitingReason = null;
                return;
            }
            waitForCheckpoint(s, wait);
            wait = Math.min(1000, wait * 2);
        }
    }

    /** Why {@link #append} is blocked right now, or null. */
    public String waitingReason() {
        return waitingReason;
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

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("producer '" + id + "' is closed");
        }
        if (failed != null) {
            throw new IllegalStateException("producer '" + id + "' epoch " + epoch + " failed earlier (" + failed.getMessage()
                    + "); open a new instance to resume from the committed cursor", failed);
        }
    }

    /** Closes without committing: queued batches stay uncommitted (orphans for GC). */
    @Override
    public void close() {
        closed = true;
        writers.close();
    }

    /** A batch queued for commit, and its object write. */
    private record Pending(TgbEntry entry, Future<?> written) {}

    private void writeObject(String key, byte[] bytes) {
        // A fresh key per (epoch, seq): put-if-absent never collides with a crashed predecessor.
        // It can find the key taken by our own earlier attempt, though: one that landed without
        // an answer, which the store's retry (S3's SDK, the file store's retry layer) then meets.
        // Identical bytes mean just that; anything else is a shared epoch.
        switch (ConditionalPut.put(log.store(), key, bytes, found -> java.util.Arrays.equals(found, bytes))) {
            case CREATED, OURS -> { }
            case THEIRS -> throw new SharedEpochException(log.store().describe(), id, epoch, key);
            case VANISHED -> throw vanished(key);
        }
        bytesWrittenAtomic.addAndGet(bytes.length);
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

    private int inFlight() {
        int n = 0;
        for (Pending p : pending) {
            if (!p.written().isDone()) {
                n++;
            }
        }
        return n;
    }

    private Future<?> oldestInFlight() {
        for (Pending p : pending) {
            if (!p.written().isDone()) {
                return p.written();
            }
        }
        throw new IllegalStateException("no write in flight");
    }

    /**
     * Waits for an object write; its failure fails this producer instance for good (the
     * supervisor restarts it with a new epoch, which resumes from the committed cursor).
     */
    private void await(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed = new IllegalStateException("interrupted while writing a batch object of producer '" + id + "'", e);
            throw (IllegalStateException) failed;
        } catch (ExecutionException e) {
            failed = e.getCause();
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("batch object write of producer '" + id + "' failed: " + e.getCause(), e.getCause());
        }
    }
}
