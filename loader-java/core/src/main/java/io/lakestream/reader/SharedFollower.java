package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ChangeWatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import io.lakestream.time.Threads;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One follower of a stream's manifest log per process, shared by every {@link RankReader} of
 * that stream in the JVM (keyed by the store's location and the environment): one thread polls
 * the log for all of them, so N ranks of a process cost the store the GETs of one.
 *
 * <p>Polling happens only while some reader waits for a step that is not committed yet, every
 * {@code max(minPollMillis, last GET's latency)}: a new version is seen within about one poll
 * interval plus one GET, never a 100 ms backoff later. When nobody waits (the readers are busy
 * with data they have) the follower does not touch the store at all; a reader that starts
 * waiting wakes it at once. After a silence of more than four times the usual interval between
 * versions (at least a second: the producers stalled) the interval doubles per poll up to
 * {@code maxPollMillis}, so a stalled stream is not hammered.
 *
 * <p>The shared log's tail (the entries of recent steps) is trimmed below the slowest reader in
 * chunks, bounding its memory; a reader that joins below the trimmed tail makes the follower
 * reload the log. The follower reads through the store of any reader subscribed to it, switching
 * when that reader leaves (each reader's store may be closed right after its reader): a
 * {@link SwitchingStore}. When to look is {@link FollowerPacing}'s call. Every time it reads is the
 * env's clock.
 */
public final class SharedFollower {
    /** Tail entries dropped at a time (each trim copies the remaining tail once). */
    private static final long TRIM_CHUNK = 256;
    /**
     * Longest single wait of the worker or a waiting reader, so a deadline on an injected clock
     * that a test moves by hand is noticed (real waits end at the signal or this slice).
     */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private record Key(String stream, StreamEnv env) {}

    private static final Map<Key, SharedFollower> FOLLOWERS = new HashMap<>(); // guarded by REGISTRY
    /**
     * Guards {@link #FOLLOWERS}; held across the first load of a new follower's log (store I/O), so
     * it is taken through the env's {@link Threads} (a simulated process waits for it on simulated time).
     */
    private static final ReentrantLock REGISTRY = new ReentrantLock();

    private final Key key;
    private final SwitchingStore store;
    private final Clock clock;
    private final Threads threads;
    /** Held across a refresh (store I/O): taken through {@link Threads#lock}. */
    private final ReentrantLock refreshLock = new ReentrantLock();
    private volatile ManifestLog log;
    private final LongAdder polls = new LongAdder();
    private final FollowerPacing pacing;
    /** Guards the fields below; waits go through {@link Threads#await} so a simulation can run them. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Subscription> subscribers = new ArrayList<>();
    private int waiting;
    private long failures;
    private RuntimeException failure;
    private long lastPollNanos; // the constructor's load was a look at the head
    private long nextPollNanos; // when the pacing says to look next (while someone waits)
    private boolean stopped;
    private Threads.Worker worker; // null for a driven follower
    /**
     * The store's signal of new log files (inotify on a local file system), or null: then the
     * worker polls at the pacing's rate while someone waits. Set before the worker starts.
     */
    private ChangeWatch watch;

    private SharedFollower(Key key, ObjectStore first, StreamEnv env) {
        this.key = key;
        this.store = new SwitchingStore(first);
        this.clock = env.clock();
        this.threads = env.threads();
        this.log = ManifestLog.open(store, true, env);
        this.lastPollNanos = clock.monotonicNanos();
        this.nextPollNanos = lastPollNanos;
        this.pacing = new FollowerPacing(lastPollNanos);
    }

    /**
     * Subscribes a reader that starts at {@code startStep} to the follower of {@code store}'s
     * stream, creating it on first use. The follower's state is refreshed before this returns,
     * so the caller's checks (world size, floor) see the current log.
     */
    static Subscription subscribe(ObjectStore store, StreamEnv env, long startStep, ReaderOptions options) {
        Key key = new Key(store.describe(), env);
        SharedFollower f;
        Subscription sub;
        boolean created;
        env.threads().lock(REGISTRY);
        try {
            f = FOLLOWERS.get(key);
            created = f == null;
            if (created) {
                f = new SharedFollower(key, store, env);
            }
            sub = f.subscribe(store, startStep, options);
            if (created) {
                FOLLOWERS.put(key, f);
                f.watch = f.store.watch(StreamLayout.LOG_PREFIX);
                f.worker = f.threads.start("lakestream-follow " + key.stream(), f::run);
            }
        } finally {
            REGISTRY.unlock();
        }
        try {
            if (!created) {
                f.catchUp(startStep);
            }
        } catch (RuntimeException e) {
            sub.close();
            throw e;
        }
        return sub;
    }

    /**
     * A follower of {@code store}'s stream with no worker and outside the process's registry:
     * its owner calls {@link #pollOnce} when it says (a simulation's actor, a test on a manual
     * clock). Readers subscribe with {@link #subscribe(long, ReaderOptions)}.
     */
    public static SharedFollower driven(ObjectStore store, StreamEnv env) {
        return new SharedFollower(new Key(store.describe(), env), store, env);
    }

    /** Subscribes a reader starting at {@code startStep} (reading through the follower's first store). */
    public Subscription subscribe(long startStep, ReaderOptions options) {
        return subscribe(store.target(), startStep, options);
    }

    private Subscription subscribe(ObjectStore s, long startStep, ReaderOptions options) {
        Subscription sub = new Subscription(this, s, startStep, options);
        threads.lock(lock);
        try {
            subscribers.add(sub);
        } finally {
            lock.unlock();
        }
        return sub;
    }

    /** The log as the follower last saw it. */
    public ManifestLog log() {
        return log;
    }

    /** Readers waiting for a step that is not committed yet (the follower polls only while there are some). */
    public int waiting() {
        threads.lock(lock);
        try {
            return waiting;
        } finally {
            lock.unlock();
        }
    }

    /**
     * When the worker looks at the log next ({@link Long#MAX_VALUE}: not while nobody waits),
     * on the env's monotonic clock.
     */
    public long nextPollNanos() {
        threads.lock(lock);
        try {
            return waiting == 0 || stopped ? Long.MAX_VALUE : nextPollNanos;
        } finally {
            lock.unlock();
        }
    }

    /** Refreshes once now; reloads the log if {@code startStep} lies in the part of the tail already trimmed. */
    private void catchUp(long startStep) {
        threads.lock(refreshLock);
        try {
            ManifestState s = log.state();
            if (startStep < s.tailFirstStep() && startStep >= s.indexedSteps()) {
                log = ManifestLog.open(store, true, key.env()); // that step's entry was forgotten: load it again
            } else {
                log.refresh();
            }
        } finally {
            refreshLock.unlock();
        }
        threads.lock(lock);
        try {
            lastPollNanos = clock.monotonicNanos();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void remove(Subscription sub) {
        boolean last;
        threads.lock(REGISTRY);
        try {
            threads.lock(lock);
            try {
                subscribers.remove(sub);
                last = subscribers.isEmpty();
                if (last) {
                    stopped = true;
                    changed.signalAll();
                    FOLLOWERS.remove(key, this);
                }
            } finally {
                lock.unlock();
            }
            if (!last && store.target() == sub.store) {
                // The leaving reader's store may be closed right after: read through another
                // reader's, once a refresh in flight on it is done.
                threads.lock(refreshLock);
                try {
                    threads.lock(lock);
                    try {
                        store.switchTo(subscribers.get(0).store);
                    } finally {
                        lock.unlock();
                    }
                } finally {
                    refreshLock.unlock();
                }
            }
        } finally {
            REGISTRY.unlock();
        }
        if (last && watch != null) {
            watch.close(); // a worker waiting on it looks at once (and finds itself stopped)
        }
        if (last && worker != null) {
            try {
                worker.join(TimeUnit.SECONDS.toMillis(10)); // the reader's store stays open until the worker is gone
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** GETs (and LISTs) the follower made to learn the head: one per poll, plus one per new version. */
    public long polls() {
        return polls.sum();
    }

    /**
     * The worker: calls {@link #pollOnce} when the pacing says, while some reader waits; with a
     * {@link ChangeWatch}, as soon as the store signals a new log file, and otherwise only at
     * the slow fallback pace (so a waiting reader costs a wake-up per version, not per look).
     */
    private void run() {
        while (true) {
            long watchFor = 0; // > 0: wait that long on the store's signal, outside the lock
            threads.lock(lock);
            try {
                while (true) {
                    if (stopped) {
                        return;
                    }
                    long now = clock.monotonicNanos();
                    if (waiting > 0 && now - nextPollNanos >= 0) {
                        break;
                    }
                    // nobody waits: rest until a reader starts waiting (it signals)
                    long left = waiting == 0 ? WAIT_SLICE_NANOS : Math.min(WAIT_SLICE_NANOS, nextPollNanos - now);
                    if (waiting > 0 && watching()) {
                        watchFor = left;
                        break;
                    }
                    threads.await(lock, changed, left);
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                if (watchFor > 0 && !watch.await(watchFor)) {
                    continue; // no news: look again at the fallback time (or when stopped)
                }
            } catch (InterruptedException e) {
                return;
            }
            pollOnce(clock.monotonicNanos());
        }
    }

    private boolean watching() {
        return watch != null && !watch.broken();
    }

    /**
     * Looks at the log once: one refresh (a GET of the next version, plus one per version
     * found), then learns the cadence from what it saw, trims the shared tail and wakes the
     * waiting readers (a store failure that outlived the store's retries is handed to them).
     *
     * @param now the env clock's monotonic reading when the look starts
     * @return when to look next, on the same clock ({@link FollowerPacing#nextPoll})
     */
    public long pollOnce(long now) {
        long minPoll = Long.MAX_VALUE;
        long maxPoll = 0;
        threads.lock(lock);
        try {
            for (Subscription s : subscribers) {
                minPoll = Math.min(minPoll, s.minPollNanos);
                maxPoll = Math.max(maxPoll, s.maxPollNanos);
            }
        } finally {
            lock.unlock();
        }
        if (minPoll == Long.MAX_VALUE) { // nobody subscribed: the reader defaults
            ReaderOptions d = ReaderOptions.defaults();
            minPoll = TimeUnit.MILLISECONDS.toNanos(Math.max(1, d.minPollMillis()));
            maxPoll = TimeUnit.MILLISECONDS.toNanos(Math.max(d.minPollMillis(), d.maxPollMillis()));
        }
        ManifestState before = log.state();
        ManifestState after = before;
        RuntimeException err = null;
        threads.lock(refreshLock);
        try {
            after = log.refresh();
        } catch (RuntimeException e) {
            err = e;
        } finally {
            refreshLock.unlock();
        }
        long done = clock.monotonicNanos();
        polls.add(1 + Math.max(0, after.version() - before.version()));
        ReaderMetrics.logPolls(1 + Math.max(0, after.version() - before.version()));
        if (after.version() > before.version()) {
            pacing.news(done, after.version() - before.version());
        }
        trim();
        long next = pacing.nextPoll(done, done - now, minPoll, maxPoll);
        if (watching()) {
            next = done + maxPoll; // the store signals news: looking on a timer is only the fallback
        }
        threads.lock(lock);
        try {
            lastPollNanos = done;
            nextPollNanos = next;
            if (err != null) {
                failure = err;
                failures++;
            }
            if (err != null || after != before) {
                // Only news wakes the waiting readers: a look that found nothing new (most of
                // them, while a reader waits for a slow producer) would wake each waiter just
                // to sleep again, a futex round trip per reader per look.
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        return next;
    }

    /** Drops tail entries below the slowest subscriber, a chunk at a time. */
    private void trim() {
        long min = Long.MAX_VALUE;
        threads.lock(lock);
        try {
            for (Subscription s : subscribers) {
                min = Math.min(min, s.position);
            }
        } finally {
            lock.unlock();
        }
        ManifestLog l = log;
        if (min != Long.MAX_VALUE && min - l.state().tailFirstStep() >= TRIM_CHUNK) {
            l.forgetBefore(min);
        }
    }

    /**
     * One reader's subscription: waits for steps, looks up their entries, reports its position
     * (so the shared tail can be trimmed below it) and leaves on {@link #close}.
     */
    public static final class Subscription implements AutoCloseable {
        private final SharedFollower follower;
        private final ObjectStore store;
        private final long minPollNanos;
        private final long maxPollNanos;
        private volatile long position;
        private boolean closed;

        private Subscription(SharedFollower follower, ObjectStore store, long position, ReaderOptions options) {
            this.follower = follower;
            this.store = store;
            this.position = position;
            this.minPollNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(1, options.minPollMillis()));
            this.maxPollNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(options.minPollMillis(), options.maxPollMillis()));
        }

        /** The shared log (its state is the newest the follower saw). */
        public ManifestLog log() {
            return follower.log;
        }

        /** The follower this subscription belongs to. */
        public SharedFollower follower() {
            return follower;
        }

        /** The TGB at {@code step} (committed, not below the reader's position's trimmed tail). */
        public TgbEntry entry(long step) {
            return follower.log.entry(step);
        }

        /** The reader will not ask for steps below {@code step} again. */
        public void position(long step) {
            position = step;
        }

        /**
         * Waits up to {@code maxWaitNanos} (on the env's clock) until step {@code step} is
         * committed or the stream ended, and returns the state; the state as it is after the
         * wait otherwise.
         *
         * @throws RuntimeException a store failure of the follower's poll during the wait (that
         *                          outlived the store's retries)
         */
        public ManifestState await(long step, long maxWaitNanos) throws InterruptedException {
            SharedFollower f = follower;
            ManifestState s = f.log.state();
            if (s.committedSteps() > step || s.ended()) {
                return s;
            }
            f.threads.lock(f.lock);
            try {
                long seenFailures = f.failures;
                long now = f.clock.monotonicNanos();
                if (++f.waiting == 1) {
                    // The follower was idle (nobody waited), so what it last saw may be old: look
                    // now, or a minimum interval after its last look. While others wait it is
                    // already polling at its pace; more waiters do not make it poll faster.
                    f.nextPollNanos = Math.max(now, f.lastPollNanos + minPollNanos);
                    f.changed.signalAll();
                }
                try {
                    long deadline = now + maxWaitNanos;
                    while (true) {
                        s = f.log.state();
                        if (s.committedSteps() > step || s.ended()) {
                            return s;
                        }
                        if (f.failures != seenFailures) {
                            throw f.failure;
                        }
                        long left = deadline - f.clock.monotonicNanos();
                        if (left <= 0) {
                            return s;
                        }
                        f.threads.await(f.lock, f.changed, Math.min(left, WAIT_SLICE_NANOS));
                    }
                } finally {
                    f.waiting--;
                }
            } finally {
                f.lock.unlock();
            }
        }

        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            follower.remove(this);
        }
    }
}
