package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.VersionCache;
import io.lakestream.store.ChangeWatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One follower of a stream's manifest log, shared by every {@link RankReader} (and job leader)
 * opened from one {@link io.lakestream.stream.Lakestream} handle: one thread polls the log for all of
 * them, so N ranks of a process cost the store the GETs of one. A reader opened without a handle
 * ({@code RankReader.open(store, ...)}) gets a follower of its own, which it closes.
 *
 * <p>It looks at the log only while some reader waits for a step not committed yet (nobody
 * waiting: no store calls at all; the first waiter wakes it at once): when {@link FollowerPacing}
 * says, or, where the store signals new log files ({@link ChangeWatch}: inotify on a local
 * file system), on each signal and otherwise only every {@code maxPollMillis} as a fallback.
 *
 * <p>The shared log's tail (the entries of recent steps) is trimmed below the slowest reader in
 * chunks, bounding its memory; a reader that joins below the trimmed tail makes the follower
 * reload the log. The follower reads through its owner's store, which outlives it (the handle
 * closes the follower before the store). When to look is {@link FollowerPacing}'s call. Every
 * time it reads is the env's clock.
 */
public final class SharedFollower implements AutoCloseable {
    /** Tail entries dropped at a time (each trim copies the remaining tail once). */
    private static final long TRIM_CHUNK = 256;
    /**
     * Longest single wait of the worker or a waiting reader, so a deadline on an injected clock
     * that a test moves by hand is noticed (real waits end at the signal or this slice).
     */
    private static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How long {@link #close} waits for the worker to finish a poll in flight. */
    private static final long JOIN_MILLIS = TimeUnit.SECONDS.toMillis(10);

    private final ObjectStore store;
    private final StreamEnv env;
    /** Versions shared with the other logs of the owner's handle, or null. */
    private final VersionCache versions;
    private final Clock clock;
    private final Threads threads;
    /** Held across a refresh (store I/O): taken through {@link Threads#lock}. */
    private final ReentrantLock refreshLock = new ReentrantLock();
    private volatile ManifestLog log;
    private final LongAdder polls = new LongAdder();
    private final FollowerPacing pacing;
    /** Guards the fields below; waits go through {@link Threads#await} so a simulation can run them. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = ParkingCondition.of(lock);
    private final List<FollowerSubscription> subscribers = new ArrayList<>();
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

    private SharedFollower(ObjectStore store, StreamEnv env, VersionCache versions) {
        this.store = store;
        this.env = env;
        this.versions = versions;
        this.clock = env.clock();
        this.threads = env.threads();
        this.log = openLog();
        this.lastPollNanos = clock.monotonicNanos();
        this.nextPollNanos = lastPollNanos;
        this.pacing = new FollowerPacing(lastPollNanos);
    }

    /**
     * Loads {@code store}'s log and starts the follower's worker (through the env's
     * {@link Threads}); it polls while some subscriber waits, until {@link #close}. The caller
     * owns the follower and keeps {@code store} open until the follower is closed.
     */
    public static SharedFollower start(ObjectStore store, StreamEnv env) {
        return start(store, env, null);
    }

    /**
     * As {@link #start(ObjectStore, StreamEnv)}, sharing the versions it reads through
     * {@code versions} (see {@link VersionCache}; null: none shared).
     */
    public static SharedFollower start(ObjectStore store, StreamEnv env, VersionCache versions) {
        SharedFollower f = new SharedFollower(store, env, versions);
        f.watch = store.watch(StreamLayout.LOG_PREFIX); // before the worker starts, which publishes it
        Threads.Worker w;
        try {
            w = f.threads.start("lakestream-follow " + store.describe(), f::run);
        } catch (RuntimeException | Error e) {
            if (f.watch != null) {
                f.watch.close(); // no worker: nobody else would close it
            }
            throw e;
        }
        f.threads.lock(f.lock);
        try {
            f.worker = w;
        } finally {
            f.lock.unlock();
        }
        return f;
    }

    /**
     * A follower of {@code store}'s stream with no worker: its owner calls {@link #pollOnce}
     * when it says (a simulation's actor, a test on a manual clock). Readers subscribe with
     * {@link #subscribe(long, ReaderOptions)}.
     */
    public static SharedFollower driven(ObjectStore store, StreamEnv env) {
        return driven(store, env, null);
    }

    /** As {@link #driven(ObjectStore, StreamEnv)}, sharing the versions it reads through {@code versions}. */
    public static SharedFollower driven(ObjectStore store, StreamEnv env, VersionCache versions) {
        return new SharedFollower(store, env, versions);
    }

    private ManifestLog openLog() {
        return ManifestLog.opener(store).readOnly(true).env(env).versionCache(versions).open();
    }

    /** The store the follower reads (its owner's). */
    public ObjectStore store() {
        return store;
    }

    /** The environment the follower waits and polls on. */
    public StreamEnv env() {
        return env;
    }

    /** Subscribes a reader starting at {@code startStep}. */
    public FollowerSubscription subscribe(long startStep, ReaderOptions options) {
        FollowerSubscription sub = new FollowerSubscription(this, startStep, options);
        threads.lock(lock);
        try {
            if (stopped) {
                throw new IllegalStateException("the follower of " + store.describe() + " is closed");
            }
            subscribers.add(sub);
        } finally {
            lock.unlock();
        }
        return sub;
    }

    /**
     * Subscribes a reader that joins a follower others may have followed for a while: its state
     * is refreshed before this returns (reloaded if {@code startStep} lies in the trimmed part of
     * the tail), so the caller's checks (world size, floor) see the current log.
     */
    FollowerSubscription join(long startStep, ReaderOptions options) {
        FollowerSubscription sub = subscribe(startStep, options);
        try {
            catchUp(startStep);
        } catch (RuntimeException e) {
            sub.close();
            throw e;
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
                log = openLog(); // that step's entry was forgotten: load it again
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

    void remove(FollowerSubscription sub) {
        threads.lock(lock);
        try {
            subscribers.remove(sub);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops the worker and waits for a poll in flight (so the owner may close the store next);
     * subscribers still waiting then fail. Idempotent.
     */
    @Override
    public void close() {
        Threads.Worker w;
        threads.lock(lock);
        try {
            if (stopped) {
                return;
            }
            stopped = true;
            w = worker;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (watch != null) {
            watch.close(); // a worker waiting on it looks at once (and finds itself stopped)
        }
        if (w != null) {
            try {
                w.join(JOIN_MILLIS);
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
            for (FollowerSubscription s : subscribers) {
                minPoll = Math.min(minPoll, s.minPollNanos());
                maxPoll = Math.max(maxPoll, s.maxPollNanos());
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
            if (after.committedSteps() > before.committedSteps()) {
                ReaderMetrics.followerNews(before.committedSteps(), after.committedSteps(), after.version() - before.version());
            }
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
            if (err != null || after != before) { // a look that found nothing wakes nobody
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
            for (FollowerSubscription s : subscribers) {
                min = Math.min(min, s.position());
            }
        } finally {
            lock.unlock();
        }
        ManifestLog l = log;
        if (min != Long.MAX_VALUE && min - l.state().tailFirstStep() >= TRIM_CHUNK) {
            l.forgetBefore(min);
        }
    }

    /** {@link FollowerSubscription#await}: the wait itself, on this follower's lock and clock. */
    ManifestState awaitStep(FollowerSubscription sub, long step, long maxWaitNanos) throws InterruptedException {
        ManifestState s = log.state();
        if (s.committedSteps() > step || s.ended()) {
            return s;
        }
        threads.lock(lock);
        try {
            long seenFailures = failures;
            long now = clock.monotonicNanos();
            if (++waiting == 1) {
                // The follower was idle (nobody waited), so what it last saw may be old: look
                // now, or a minimum interval after its last look. While others wait it is
                // already polling at its pace; more waiters do not make it poll faster.
                nextPollNanos = Math.max(now, lastPollNanos + sub.minPollNanos());
                changed.signalAll();
            }
            try {
                long deadline = now + maxWaitNanos;
                while (true) {
                    s = log.state();
                    if (s.committedSteps() > step || s.ended()) {
                        return s;
                    }
                    if (failures != seenFailures) {
                        throw failure;
                    }
                    if (stopped) { // its owner closed it (a handle closed under its readers)
                        throw new IllegalStateException("the follower of " + store.describe() + " is closed");
                    }
                    long left = deadline - clock.monotonicNanos();
                    if (left <= 0) {
                        return s;
                    }
                    threads.await(lock, changed, Math.min(left, WAIT_SLICE_NANOS));
                }
            } finally {
                waiting--;
            }
        } finally {
            lock.unlock();
        }
    }
}
