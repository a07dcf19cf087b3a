package io.lakestream.log;

import io.lakestream.StreamEnv;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ReadBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Finds the TGB committed at a step in a state: in its tail, or in the immutable index segment
 * that holds it (read from the store, the last one read kept, since readers go step by step).
 */
final class StepIndex {
    private final ObjectStore store;
    private final StreamConfig config;
    private final StreamEnv env;
    private final LogFiles files;
    /** Guards the one-segment cache: {@link #entry} runs without the log's mutex, from any reader's thread. */
    private final Object segmentLock = new Object();
    private long cachedSegmentFirst; // the first step of cachedSegment (guarded by segmentLock)
    private Snapshot.SegmentFile cachedSegment;
    /** Held while a segment is read into {@link #segmentBytes} and parsed. */
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReadBuffer segmentBytes = new ReadBuffer(1 << 16);

    StepIndex(StreamConfig config, StreamEnv env, LogFiles files) {
        this.store = files.store();
        this.config = config;
        this.env = env;
        this.files = files;
    }

    /**
     * The TGB committed at {@code step} in state {@code s}.
     *
     * @throws IllegalArgumentException if the step is not committed (yet) in {@code s}
     */
    TgbEntry entry(ManifestState s, long step) {
        if (step < 0 || step >= s.committedSteps()) {
            throw new IllegalArgumentException("step " + step + " of " + store.describe() + " is not committed (committed steps: "
                    + s.committedSteps() + ")");
        }
        if (step < s.reclaimedBelowStep()) {
            throw new BelowFloorException(store.describe(), step, s.floorStep());
        }
        if (step >= s.tailFirstStep()) {
            return s.tail().get((int) (step - s.tailFirstStep()));
        }
        if (step >= s.indexedSteps()) {
            throw new IllegalStateException("step " + step + " of " + store.describe() + " was already forgotten by this reader"
                    + " (it keeps steps from " + s.tailFirstStep() + ")");
        }
        long first = s.segmentStart(step);
        Snapshot.SegmentFile f;
        try {
            f = segment(first, s.segmentEnd(first) - first);
        } catch (NoSuchKeyException gone) {
            throw segmentGone(step, gone);
        }
        return f.tgbs().get((int) (step - first));
    }

    /**
     * The index segment of {@code step} is gone: GC deletes one only once its steps are all below
     * {@code reclaimed_below_step}, after committing the checkpoint that raised the floor. So a
     * state older than that (a lagging reader) re-confirms the head: below the floor now is
     * {@link BelowFloorException}, as for a fresh reader; otherwise the segment is lost.
     */
    private RuntimeException segmentGone(long step, NoSuchKeyException gone) {
        ManifestState now = ManifestLog.open(store, true, env).state();
        long floor = Math.max(now.floorStep(), now.reclaimedBelowStep());
        if (step < floor) {
            return new BelowFloorException(store.describe(), step, floor);
        }
        return new LogFormatException(files.where(gone.key()) + ": index segment of step " + step + " is missing", store.describe(),
                gone.key(), gone);
    }

    /**
     * Names the segment and the step of the entry being validated, as text only when validation
     * fails (one object per segment, not a string per entry).
     */
    private static final class StepWhere {
        private final String segment;
        long step;

        StepWhere(String segment) {
            this.segment = segment;
        }

        @Override
        public String toString() {
            return segment + " step " + step;
        }
    }

    /**
     * Segment {@code [first, first + n)}, read and parsed ({@link SegmentParser}) and every entry
     * validated, or the one held. One read at a time, into one reused buffer (a fresh 300 KB
     * array per segment was a quarter of a catching-up reader's garbage per step, issue 23);
     * the ranks of a process after the same segment then read it once and find it held.
     */
    private Snapshot.SegmentFile segment(long first, long n) {
        Snapshot.SegmentFile held = held(first);
        if (held != null) {
            return held;
        }
        env.threads().lock(readLock); // another reader may hold it across the store read
        try {
            held = held(first); // read by another rank while this one waited
            if (held != null) {
                return held;
            }
            String key = StreamLayout.segmentKey(first);
            Snapshot.SegmentFile f = files.readSegment(key, segmentBytes);
            if (f.firstStep() != first || f.tgbs() == null || f.tgbs().size() != n) {
                throw new LogFormatException(files.where(key) + ": index segment does not cover steps [" + first + ", " + (first + n) + ")");
            }
            StepWhere where = new StepWhere(files.where(key));
            for (int i = 0; i < f.tgbs().size(); i++) {
                where.step = first + i;
                f.tgbs().get(i).validate(config.worldSize(), where);
            }
            synchronized (segmentLock) {
                cachedSegmentFirst = first;
                cachedSegment = f;
            }
            return f;
        } finally {
            readLock.unlock();
        }
    }

    private Snapshot.SegmentFile held(long first) {
        synchronized (segmentLock) {
            // compared by first step: no key text per step looked up (issue 23)
            return cachedSegment != null && cachedSegmentFirst == first ? cachedSegment : null;
        }
    }
}
