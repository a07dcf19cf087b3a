package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.EntryWire;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamConfig;
import io.lakestream.store.ObjectStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One log follower per job. In synchronous data parallelism every rank joins a collective each
 * step anyway, so one rank (the leader; or one per node) follows the log and hands each step's
 * entry to the others over the trainer's own collective ({@link StepExchange}); the others read
 * through a {@link HandoffFeed} and never touch the log. The log's GET load is then that of one
 * follower, whatever the world size. What is handed over is the entry's log JSON, validated by
 * each member as a log entry, and every shard is still CRC32C-checked against it.
 *
 * <p>A message (see {@link #encode}) carries a run of consecutive entries, and the stream's end
 * step if the leader saw it closed, or the leader's error. The leader builds them with
 * {@link Leader#next}; {@link #pump} runs the exchange on a thread for Java trainers; the Python
 * binding calls the same two ends over a gloo process group.
 */
public final class JobFeed {
    private static final int MAGIC = 0x4C534A46; // "LSJF"
    private static final byte VERSION = 1;
    /** Entries per message at most (bounds what a member buffers from one message). */
    public static final int MAX_ENTRIES = 4096;
    private static final int MAX_ENTRY_BYTES = 64 << 20;

    private JobFeed() {}

    /** A decoded message: {@code entries} are steps {@code firstStep, firstStep + 1, …}; endStep -1 while open. */
    public record Message(long firstStep, List<byte[]> entries, long endStep, String error) {}

    /** Encodes a message (little work: lengths and bytes). */
    public static byte[] encode(long firstStep, List<byte[]> entries, long endStep, String error) {
        byte[] err = error == null ? new byte[0] : error.getBytes(StandardCharsets.UTF_8);
        int size = 4 + 1 + 8 + 8 + 4 + 4 + err.length;
        for (byte[] e : entries) {
            size += 4 + e.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).put(VERSION).putLong(firstStep).putLong(endStep).putInt(entries.size());
        for (byte[] e : entries) {
            b.putInt(e.length).put(e);
        }
        b.putInt(error == null ? -1 : err.length).put(err);
        return b.array();
    }

    /**
     * Decodes a message, checking every length against the bytes before allocating anything.
     *
     * @throws LogFormatException a malformed message, naming the stream
     */
    public static Message decode(byte[] m, String stream) {
        String where = "stream " + stream + ": message from the job's leader";
        try {
            ByteBuffer b = ByteBuffer.wrap(m);
            if (b.remaining() < 29 || b.getInt() != MAGIC) {
                throw new LogFormatException(where + " is not a job-feed message (" + m.length + " bytes)");
            }
            byte v = b.get();
            if (v != VERSION) {
                throw new LogFormatException(where + " has version " + v + ", this build reads " + VERSION);
            }
            long first = b.getLong();
            long end = b.getLong();
            int n = b.getInt();
            if (first < 0 || end < -1 || n < 0 || n > MAX_ENTRIES) {
                throw new LogFormatException(where + ": first step " + first + ", end step " + end + ", " + n + " entries");
            }
            List<byte[]> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int len = b.getInt();
                if (len < 0 || len > MAX_ENTRY_BYTES || len > b.remaining()) {
                    throw new LogFormatException(where + ": entry of step " + (first + i) + " claims " + len + " bytes, "
                            + b.remaining() + " left");
                }
                byte[] e = new byte[len];
                b.get(e);
                entries.add(e);
            }
            int errLen = b.getInt();
            String error = null;
            if (errLen >= 0) {
                if (errLen > b.remaining()) {
                    throw new LogFormatException(where + ": error text claims " + errLen + " bytes, " + b.remaining() + " left");
                }
                byte[] e = new byte[errLen];
                b.get(e);
                error = new String(e, StandardCharsets.UTF_8);
            }
            if (b.hasRemaining()) {
                throw new LogFormatException(where + ": " + b.remaining() + " bytes after the end");
            }
            return new Message(first, entries, end, error);
        } catch (java.nio.BufferUnderflowException e) {
            throw new LogFormatException(where + " is truncated (" + m.length + " bytes)", e);
        }
    }

    /**
     * A member's feed for a reader starting at {@code startStep}: reads the stream's config once
     * (one GET: the world size the entries are checked against), never the log.
     */
    public static HandoffFeed member(ObjectStore store, long startStep, StreamEnv env) {
        StreamConfig cfg = ManifestLog.readConfig(store);
        return new HandoffFeed(store.describe(), cfg.worldSize(), startStep, env);
    }

    /**
     * The leader's end: a subscription to a follower of the stream from which it builds the
     * messages. Opened from the leader's handle ({@link #open(SharedFollower, long, ReaderOptions)},
     * what {@code Lakestream.jobLeader} does) it shares the follower of the leader's own reader,
     * so no extra log reads.
     */
    public static final class Leader implements AutoCloseable {
        private final FollowerSubscription sub;
        /** The follower this leader closes (opened without a handle), or null (its handle's). */
        private final SharedFollower owned;
        private final String stream;
        private long next;

        private Leader(FollowerSubscription sub, SharedFollower owned, long startStep) {
            this.sub = sub;
            this.owned = owned;
            this.stream = sub.follower().store().describe();
            this.next = startStep;
        }

        /** Starts handing over steps from {@code startStep}, from {@code follower} (its owner's, shared). */
        public static Leader open(SharedFollower follower, long startStep, ReaderOptions options) {
            return checked(follower.join(startStep, options), null, startStep);
        }

        /**
         * As {@link #open(SharedFollower, long, ReaderOptions)} with a follower of its own, which
         * the leader closes (the caller keeps {@code store} open until then); a leader that also
         * reads opens both from one {@code Lakestream} handle instead, sharing one follower.
         */
        public static Leader open(ObjectStore store, long startStep, ReaderOptions options, StreamEnv env) {
            SharedFollower f = SharedFollower.start(store, env);
            try {
                return checked(f.subscribe(startStep, options), f, startStep);
            } catch (RuntimeException | Error e) {
                f.close();
                throw e;
            }
        }

        private static Leader checked(FollowerSubscription sub, SharedFollower owned, long startStep) {
            try {
                sub.checkFloor(startStep);
            } catch (RuntimeException e) {
                sub.close();
                throw e;
            }
            return new Leader(sub, owned, startStep);
        }

        /** The next step this leader hands over. */
        public synchronized long nextStep() {
            return next;
        }

        /** The follower this leader reads (diagnostics): its handle's, shared with the leader's own reader. */
        public SharedFollower follower() {
            return sub.follower();
        }

        /** Log reads of the follower this leader shares. */
        public long polls() {
            return sub.follower().polls();
        }

        /**
         * The next message: the entries of the committed steps from {@link #nextStep()} on (at
         * most {@code max}), waiting up to {@code waitMillis} (on the env's clock) for the first
         * if none is committed yet; the end step if the stream is closed; the error if following
         * failed (the store outlived its retries). An empty message means nothing new in time.
         */
        public synchronized byte[] next(int max, long waitMillis) throws InterruptedException {
            long from = next;
            try {
                ManifestState st = sub.log().state();
                if (from >= st.committedSteps() && !st.ended() && waitMillis > 0) {
                    st = sub.await(from, TimeUnit.MILLISECONDS.toNanos(waitMillis));
                }
                int n = (int) Math.clamp(st.committedSteps() - from, 0, Math.min(max, MAX_ENTRIES));
                List<byte[]> entries = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    entries.add(EntryWire.encode(sub.entry(from + i)));
                }
                next = from + n;
                sub.position(next); // the shared tail may forget what was handed over
                return encode(from, entries, st.ended() ? st.endStep() : -1, null);
            } catch (RuntimeException e) {
                return encode(from, List.of(), -1, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        @Override
        public void close() {
            sub.close();
            if (owned != null) {
                owned.close();
            }
        }

        @Override
        public String toString() {
            return "JobFeed.Leader[" + stream + " next " + next + "]";
        }
    }

    /**
     * Runs the exchange until the stream ends, the leader fails or the thread is interrupted: on
     * the leader ({@code leader} non-null) each round hands over up to {@code window} new entries
     * (waiting up to a second for one), on a member ({@code feed} non-null) each round feeds the
     * leader's message to this rank's reader. Every rank of the job runs it with the same
     * {@code exchange}. Returns when the stream's end was handed over.
     */
    public static void pump(Leader leader, HandoffFeed feed, StepExchange exchange, int window) throws InterruptedException {
        if ((leader == null) == (feed == null)) {
            throw new IllegalArgumentException("a rank is either the leader or a member");
        }
        while (!Thread.currentThread().isInterrupted()) {
            byte[] m = exchange.broadcast(leader != null ? leader.next(window, 1_000) : null);
            Message msg = decode(m, leader != null ? leader.stream : "?");
            if (feed != null) {
                feed.accept(m);
            }
            if (msg.error() != null || (msg.endStep() >= 0 && msg.firstStep() + msg.entries().size() >= msg.endStep())) {
                return;
            }
        }
        throw new InterruptedException();
    }
}
