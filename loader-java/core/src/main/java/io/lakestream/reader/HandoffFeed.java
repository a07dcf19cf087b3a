package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.EntryWire;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.TgbEntry;
import io.lakestream.time.Clock;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link StepFeed} fed by the job's leader rank instead of the log: the trainer's collective
 * hands over each step's entry ({@link JobFeed} messages, or {@link #offer}/{@link #end} one at a
 * time), in step order, and this rank's reader takes them from here. Each entry is validated as
 * a log entry is ({@link EntryWire#decode}: world size, object key, shard table bounds) when it
 * is handed over, and every shard read against it is still CRC32C-checked, so a wrong hand-off
 * fails loudly and never delivers wrong bytes. Steps must arrive in order without gaps; a step
 * handed over again must carry the same entry.
 *
 * <p>Its lock and its reader's wait go through the env's {@link Threads} and its deadline is on
 * the env's clock, as the rest of the read path's, so a simulation or a test on a manual clock
 * runs a member's reader on its own time.
 */
public final class HandoffFeed implements StepFeed {
    /** Longest single wait, so a deadline on an injected clock is noticed while the threads wait on another. */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final String stream;
    private final int streamWorldSize;
    private final Clock clock;
    private final Threads threads;
    /** Guards the fields below; taken through {@link #threads}. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a step is handed over, the stream ends, the leader fails or the feed closes. */
    private final Condition changed = ParkingCondition.of(lock);
    private final TreeMap<Long, TgbEntry> entries = new TreeMap<>();
    private final TreeMap<Long, byte[]> raw = new TreeMap<>();
    private volatile long next; // the next step expected from the leader; volatile for the lock-free getters
    private long position;
    private volatile long endStep = -1;
    private RuntimeException failure;
    private boolean closed;

    /**
     * @param stream          the stream's description (for errors)
     * @param streamWorldSize the world size the stream was written for (from its config)
     * @param startStep       the first step this rank reads: the leader's first hand-over
     * @param env             the clock of the reader's deadlines and the threads its waits go through
     */
    public HandoffFeed(String stream, int streamWorldSize, long startStep, StreamEnv env) {
        if (streamWorldSize < 1 || startStep < 0) {
            throw new IllegalArgumentException("hand-off feed of " + stream + ": world size " + streamWorldSize + ", start step " + startStep);
        }
        this.stream = stream;
        this.streamWorldSize = streamWorldSize;
        this.clock = env.clock();
        this.threads = env.threads();
        this.next = startStep;
        this.position = startStep;
    }

    /**
     * Takes step {@code step}'s entry (its log JSON) from the leader.
     *
     * @throws LogFormatException the bytes are not a valid entry for this stream, or the step is
     *                            out of order (a gap), or a repeated step carries another entry
     */
    public void offer(long step, byte[] entry) {
        String where = "stream " + stream + " step " + step + " (entry handed over by the job's leader)";
        threads.lock(lock);
        try {
            if (step < next) {
                byte[] had = raw.get(step);
                if (had != null && !java.util.Arrays.equals(had, entry)) {
                    throw new LogFormatException(where + ": differs from the entry handed over before for the same step");
                }
                return; // a repeat (below the position it is forgotten): nothing to do
            }
            if (step > next) {
                throw new LogFormatException(where + ": expected step " + next + " next (hand-overs come in step order, without gaps)");
            }
        } finally {
            lock.unlock();
        }
        TgbEntry e = EntryWire.decode(entry, streamWorldSize, where); // validated before anything is sized from it
        threads.lock(lock);
        try {
            if (step != next) {
                throw new LogFormatException(where + ": handed over concurrently with step " + next);
            }
            entries.put(step, e);
            raw.put(step, entry);
            next = step + 1;
            threads.signalAll(changed);
        } finally {
            lock.unlock();
        }
    }

    /** The leader saw the stream closed at {@code endStep}. */
    public void end(long endStep) {
        threads.lock(lock);
        try {
            this.endStep = endStep;
            threads.signalAll(changed);
        } finally {
            lock.unlock();
        }
    }

    /** The leader failed (its follower, its store, the exchange): the reader reports {@code why}. */
    public void fail(RuntimeException why) {
        threads.lock(lock);
        try {
            if (failure == null) {
                failure = why;
            }
            threads.signalAll(changed);
        } finally {
            lock.unlock();
        }
    }

    /** Applies one message of {@link JobFeed#encode} (entries, end or the leader's error). */
    public void accept(byte[] message) {
        JobFeed.Message m = JobFeed.decode(message, stream);
        for (int i = 0; i < m.entries().size(); i++) {
            offer(m.firstStep() + i, m.entries().get(i));
        }
        if (m.endStep() >= 0) {
            end(m.endStep());
        }
        if (m.error() != null) {
            fail(new LeaderFailedException(stream, m.error()));
        }
    }

    /** The next step the leader is expected to hand over. */
    public long nextExpected() {
        return next;
    }

    @Override
    public int streamWorldSize() {
        return streamWorldSize;
    }

    @Override
    public long committedSteps() {
        return next;
    }

    @Override
    public long endStep() {
        return endStep;
    }

    @Override
    public void await(long step, long maxWaitNanos) throws InterruptedException {
        long deadline = clock.monotonicNanos() + maxWaitNanos;
        threads.lock(lock);
        try {
            while (step >= next && endStep < 0 && !closed) {
                if (failure != null) {
                    throw failure;
                }
                long left = deadline - clock.monotonicNanos();
                if (left <= 0) {
                    return;
                }
                threads.await(lock, changed, Math.min(left, WAIT_SLICE_NANOS));
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public TgbEntry entry(long step) {
        threads.lock(lock);
        try {
            TgbEntry e = entries.get(step);
            if (e == null) {
                throw new IllegalStateException("stream " + stream + " step " + step + ": no entry handed over (have "
                        + (entries.isEmpty() ? "none" : entries.firstKey() + ".." + entries.lastKey()) + ")");
            }
            return e;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void position(long step) {
        threads.lock(lock);
        try {
            position = Math.max(position, step);
            entries.headMap(position).clear();
            raw.headMap(position).clear();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long polls() {
        return 0;
    }

    @Override
    public void close() {
        threads.lock(lock);
        try {
            closed = true;
            entries.clear();
            raw.clear();
            threads.signalAll(changed);
        } finally {
            lock.unlock();
        }
    }
}
