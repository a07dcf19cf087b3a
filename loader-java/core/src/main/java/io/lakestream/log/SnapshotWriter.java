package io.lakestream.log;

import static io.lakestream.log.LogFiles.LOG;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import io.lakestream.time.Clock;
import io.lakestream.time.ParkingCondition;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Writes a log's snapshots and the index segments they rely on, when a commit makes one due:
 * inline in that commit, or handed to a writer (one at a time). What a snapshot indexed is handed
 * back to the log ({@code publish}), which folds it into its state under its mutex.
 */
final class SnapshotWriter {
    /** What a segment object holds besides its entries ({@code {"first_step":…,"tgbs":[]}}), at most. */
    private static final long SEGMENT_ENVELOPE_BYTES = 64;

    private final ObjectStore store;
    private final StreamConfig config;
    private final StreamEnv env;
    private final Clock clock;
    private final LogFiles files;
    private final Consumer<ManifestState> publish;
    private volatile Executor writer;
    /**
     * Guards {@code snapshotRunning}. Waiting for the flag ({@link #await}) goes through the
     * environment's threads (a simulated process waits on simulated time); setting and clearing
     * it holds the lock for nothing else, never across store I/O, so those take it directly.
     */
    private final ReentrantLock snapshotLock = new ReentrantLock();
    private final Condition snapshotDone = ParkingCondition.of(snapshotLock);
    private boolean snapshotRunning; // guarded by snapshotLock

    /** {@code publish} folds a state with segments and a snapshot written (or adopted) into the log's state. */
    SnapshotWriter(StreamConfig config, StreamEnv env, LogFiles files, Consumer<ManifestState> publish) {
        this.store = files.store();
        this.config = config;
        this.env = env;
        this.clock = env.clock();
        this.files = files;
        this.publish = publish;
    }

    /** @see ManifestLog#writeSnapshotsWith */
    void writeWith(Executor writer) {
        this.writer = writer;
    }

    /** @see ManifestLog#awaitSnapshots */
    void await(long millis) {
        long deadline = clock.monotonicNanos() + millis * 1_000_000;
        env.threads().lock(snapshotLock);
        try {
            while (snapshotRunning) {
                long left = deadline - clock.monotonicNanos();
                if (left <= 0) {
                    return;
                }
                env.threads().await(snapshotLock, snapshotDone, left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            snapshotLock.unlock();
        }
    }

    /**
     * Writes a snapshot of {@code s} (the state a commit just made) when the committed version is
     * a multiple of the interval, or when the last one is two intervals old (a committer died
     * before writing one). Best effort: a failed snapshot only makes later opens read a few more
     * versions. With a snapshot writer it runs there (one at a time; a snapshot due while one is
     * being written is left to a later commit, which the two-interval rule guarantees).
     */
    void maybeSnapshot(ManifestState s) {
        int n = config.snapshotInterval();
        boolean onInterval = s.version() > 0 && s.version() % n == 0;
        boolean due = onInterval || (s.version() > 0 && s.version() - s.lastSnapshotVersion() >= 2L * n);
        if (!due || s.tailPartial()) {
            return;
        }
        Executor writer = this.writer;
        if (writer == null) {
            writeSnapshot(s);
            return;
        }
        snapshotLock.lock();
        try {
            if (snapshotRunning) {
                return;
            }
            snapshotRunning = true;
        } finally {
            snapshotLock.unlock();
        }
        try {
            writer.execute(() -> {
                try {
                    writeSnapshot(s);
                } catch (RuntimeException | Error e) {
                    // an injected crash or an Error, which writeSnapshot lets through: nobody waits for
                    // this writer's outcome, so it ends here (the commit that handed it over stands)
                    LOG.log(System.Logger.Level.WARNING, "snapshot " + files.where(StreamLayout.snapshotKey(s.version()))
                            + " of version " + s.version() + " not written: " + e, e);
                } finally {
                    snapshotEnded();
                }
            });
        } catch (RejectedExecutionException e) {
            snapshotEnded();
        }
    }

    private void snapshotEnded() {
        snapshotLock.lock();
        try {
            snapshotRunning = false;
            env.threads().signalAll(snapshotDone);
        } finally {
            snapshotLock.unlock();
        }
    }

    /**
     * Writes the index segments and the snapshot of state {@code s}, then lets the held state drop
     * the indexed entries.
     *
     * <p>The version is committed already (inline, this runs inside the commit that made it):
     * a snapshot only saves later opens some reading, so whatever fails in writing it — the store,
     * a segment of another writer that is not the log's, or anything unexpected — is logged
     * (naming the snapshot and the version) and the commit returns its result; a caller that saw it
     * fail would take a committed version for one that was not. Two exceptions are let through:
     * {@link FailPoints.InjectedFailure} (a simulated crash at this point: crash tests rely on it
     * stopping the committer here, as a real crash would) and Errors.
     */
    private void writeSnapshot(ManifestState s) {
        int n = config.snapshotInterval();
        boolean onInterval = s.version() % n == 0;
        env.failPoints().hit(FailPoints.BEFORE_SNAPSHOT);
        try {
            // Another committer may have written a newer snapshot than the last one we know (with
            // many producers, almost always): start from its segments rather than writing them
            // again, and when ours is due only because we had not seen it, write none.
            ManifestState adopted = adoptNewerSnapshot(s);
            if (adopted != null) {
                publish.accept(adopted);
                s = adopted;
                if (!onInterval && s.version() - s.lastSnapshotVersion() < 2L * n) {
                    return;
                }
            }
            // Complete index segments first (their content is fixed by the log), then the
            // snapshot that relies on them.
            List<Long> splits = new ArrayList<>();
            long indexed = s.indexedSteps();
            while (true) {
                long end = completeSegmentEnd(s, indexed);
                if (end < 0) {
                    break;
                }
                end = writeSegment(s, indexed, end);
                if (indexed % config.indexSegmentSteps() != 0) {
                    splits.add(indexed);
                }
                indexed = end;
            }
            ManifestState ns = s.withIndexed(s.version(), indexed, splits);
            putIfAbsent(StreamLayout.snapshotKey(s.version()), ns.toSnapshot());
            publish.accept(ns);
            store.put(StreamLayout.SNAPSHOT_HINT, Json.write(new Snapshot.Hint(s.version())));
        } catch (FailPoints.InjectedFailure e) {
            throw e;
        } catch (StoreException | FormatException e) {
            LOG.log(System.Logger.Level.WARNING, "snapshot " + files.where(StreamLayout.snapshotKey(s.version())) + " of version "
                    + s.version() + " not written: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "snapshot " + files.where(StreamLayout.snapshotKey(s.version())) + " of version "
                    + s.version() + " not written: " + e, e);
        }
    }

    /**
     * {@code s} indexed as the snapshot the hint names, if that one is newer than the last
     * snapshot {@code s} knows and not newer than {@code s} itself; else null. That snapshot's
     * segments were written before it, so they need not be written again.
     */
    private ManifestState adoptNewerSnapshot(ManifestState s) {
        Snapshot.Hint h = files.readHint();
        if (h == null || h.version() <= s.lastSnapshotVersion() || h.version() > s.version()) {
            return null;
        }
        try {
            Snapshot snap = files.readJson(StreamLayout.snapshotKey(h.version()), Snapshot.class);
            if (snap.version() != h.version()) {
                return null;
            }
            ManifestState.fromSnapshot(config, snap, files.where(StreamLayout.snapshotKey(h.version()))); // validates it
            return s.withIndexingOf(snap);
        } catch (FormatException | NoSuchKeyException e) {
            return null; // unusable or reclaimed: write our own
        }
    }

    /**
     * The end of the index segment starting at {@code first} if it is complete in {@code s}, else
     * -1 (docs/format.md §6): a segment never crosses a multiple of {@code index_segment_steps},
     * and with a byte bound it closes before the entry that would take the segment object past
     * {@code index_segment_bytes} (counting each entry's JSON, a comma, and 64 bytes for the
     * rest; it always holds at least one entry). It is complete once it reaches
     * that multiple, or once the entry that does not fit is committed.
     */
    private synchronized long completeSegmentEnd(ManifestState s, long first) {
        long slotEnd = (first / config.indexSegmentSteps() + 1) * config.indexSegmentSteps();
        long limit = Math.min(slotEnd, s.committedSteps());
        long maxBytes = config.indexSegmentBytes();
        if (maxBytes <= 0) {
            return slotEnd <= s.committedSteps() ? slotEnd : -1;
        }
        // The entries of a step never change, so the sizes summed for the open segment by the last
        // snapshot still hold: go on from there instead of sizing its whole tail at every snapshot.
        boolean resume = sizedFirst == first && sizedUpTo <= limit && sizedUpTo >= first;
        long bytes = resume ? sizedBytes : SEGMENT_ENVELOPE_BYTES;
        long from = resume ? sizedUpTo : first;
        if (from < limit) {
            // one generator for all the entries sized now (not one mapper call, with its own, per entry)
            scratch.reset();
            try (com.fasterxml.jackson.core.JsonGenerator g = Json.MAPPER.createGenerator(scratch)) {
                g.setRootValueSeparator(null);
                com.fasterxml.jackson.databind.SerializerProvider provider = Json.MAPPER.getSerializerProviderInstance();
                for (long step = from; step < limit; step++) {
                    int before = scratch.length();
                    TgbEntry.WRITER.serialize(s.tail().get((int) (step - s.tailFirstStep())).inForm(config.formatVersion()), g, provider);
                    g.flush();
                    bytes += scratch.length() - before + 1;
                    if (bytes > maxBytes && step > first) {
                        sizedFirst = -1;
                        return step; // this entry does not fit: the segment ends before it
                    }
                    if (scratch.length() > 1 << 16) {
                        scratch.reset(); // what was written is counted; only the lengths matter
                    }
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot size the entries of index segment " + first, e);
            }
        }
        sizedFirst = first;
        sizedUpTo = limit;
        sizedBytes = bytes;
        return limit == slotEnd ? slotEnd : -1;
    }

    /**
     * {@link #completeSegmentEnd}'s progress on the open segment: the steps {@code [sizedFirst,
     * sizedUpTo)} sum to {@code sizedBytes} with the envelope (none held: {@code sizedFirst} -1).
     */
    private long sizedFirst = -1; // guarded by this
    private long sizedUpTo; // guarded by this
    private long sizedBytes; // guarded by this
    /**
     * Where snapshots, segments and the entries being sized are serialised (guarded by this): a
     * snapshot's bytes are then one exact-size array, not chunks and their copy (issue 23). It
     * keeps the size of the largest snapshot written.
     */
    private final io.lakestream.format.JsonBuffer scratch = new io.lakestream.format.JsonBuffer(1 << 16);

    /**
     * Serialises {@code document} into {@link #scratch} and writes it from there (put-if-absent,
     * name made durable): no exact-size copy of a snapshot or segment (issue 23). The monitor is
     * held across the write, as the buffer is this writer's; snapshots are written one at a time.
     */
    private synchronized boolean putIfAbsent(String key, Object document) {
        Json.writeTo(document, scratch);
        return store.putIfAbsent(key, scratch.segment(), true);
    }

    /**
     * Writes segment {@code [first, end)} (put-if-absent) and returns its end. If the key exists
     * (another committer wrote it, maybe another implementation that closed it elsewhere) its
     * content must be exactly the log's entries from {@code first} on: then its end is adopted,
     * else the snapshot is not written.
     */
    private long writeSegment(ManifestState s, long first, long end) {
        String key = StreamLayout.segmentKey(first);
        int from = (int) (first - s.tailFirstStep());
        List<TgbEntry> entries = s.tail().subList(from, from + (int) (end - first));
        if (putIfAbsent(key, new Snapshot.SegmentFile(first, files.inStreamForm(entries)))) {
            return end;
        }
        Snapshot.SegmentFile found = files.readSegment(key);
        long slotEnd = (first / config.indexSegmentSteps() + 1) * config.indexSegmentSteps();
        int n = found.tgbs() == null ? 0 : found.tgbs().size();
        if (found.firstStep() != first || n < 1 || first + n > Math.min(slotEnd, s.committedSteps())
                || !found.tgbs().equals(s.tail().subList(from, from + n))) {
            throw new LogFormatException(files.where(key) + ": index segment present but not the log's entries from step " + first);
        }
        // Equal is not enough: an entry that carries both shard forms compares equal to the log's
        // and is refused by every reader's StepIndex; a snapshot must not index steps through it.
        String where = files.where(key);
        for (TgbEntry t : found.tgbs()) {
            t.validate(config.worldSize(), where);
        }
        return first + n;
    }
}
