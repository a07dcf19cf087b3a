package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.log.TgbEntry;
import io.lakestream.time.Clock;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link RankReader}'s steps in flight, in step order: a dispatcher thread follows the feed and,
 * as each of the reader's steps is committed, hands its {@link ShardFetch} to a small set of
 * fetch threads (at most {@code prefetch}, started as needed), queueing at most {@code prefetch}
 * of them beyond the one the consumer waits for; the consumer takes them from the head. At the
 * head of the stream (nothing in flight, the next step not committed yet) the dispatcher fetches
 * the step itself: one thread wake-up fewer between a commit and the consumer holding its step.
 *
 * <p>Its threads, waits and time are the reader's {@link StreamEnv}'s ({@link StreamEnv#threads()},
 * {@link StreamEnv#clock()}): platform daemon threads named {@code lakestream-dispatch-r<rank>} and
 * {@code lakestream-fetch-r<rank>} in production, a simulation's actors under deterministic
 * simulation. The steps in flight are a fixed ring of slots guarded by one lock, so a step costs
 * no allocation here.
 *
 * <p>It owns its threads and the batches fetched and not delivered: {@link #close} stops the
 * threads and closes those batches. The feed, pool and node-fetch parts stay the reader's.
 */
final class Prefetcher {
    /** Longest single wait of the dispatcher for the log (each new wait of an idle follower makes it look at once). */
    private static final long DISPATCH_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Longest single wait of an idle fetch thread or a dispatcher with no room (every change signals). */
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final int QUEUED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;

    /** One step in flight: dispatched, then fetched by a fetch thread, then delivered (and reused). */
    private static final class Slot {
        long step;
        TgbEntry entry;
        int state;
        StepBatch batch;
        Throwable failure;
    }

    private final StepFeed feed;
    private final ShardFetch fetch;
    private final String stream;
    private final int rank;
    private final long startStep;
    private final int stride;
    private final int depth;
    private final Threads threads;
    private final Clock clock;
    /** Guards the ring and the counters below; waits go through {@link Threads#await}. */
    private final ReentrantLock lock = new ReentrantLock();
    /** A step was queued for a fetch thread (or closing): one idle fetch thread takes it. */
    private final Condition queued = ParkingCondition.of(lock);
    /** A step was dispatched or fetched (or closing): the consumer looks. */
    private final Condition done = ParkingCondition.of(lock);
    /** The consumer freed room in the queue (or closing): the dispatcher looks. */
    private final Condition room = ParkingCondition.of(lock);
    /** Steps dispatched and not delivered, oldest at {@link #head}: {@code depth + 2} slots. */
    private final Slot[] ring;
    private int head;
    private int count;
    /** Whether the consumer has taken the head (a dispatched step it waits for): it leaves the queue's room. */
    private boolean headTaken;
    private final Threads.Worker[] fetchers;
    private int fetchersStarted;
    private Threads.Worker dispatcher;
    private volatile boolean closing;
    private boolean stopped;

    Prefetcher(StepFeed feed, ShardFetch fetch, String stream, int rank, long startStep, int stride, int prefetch, StreamEnv env) {
        this.feed = feed;
        this.fetch = fetch;
        this.stream = stream;
        this.rank = rank;
        this.startStep = startStep;
        this.stride = stride;
        this.depth = Math.max(1, prefetch);
        this.threads = env.threads();
        this.clock = env.clock();
        // the head the consumer waits for, depth queued, and one more dispatched while the queue is full
        this.ring = new Slot[depth + 2];
        for (int i = 0; i < ring.length; i++) {
            ring[i] = new Slot();
        }
        this.fetchers = new Threads.Worker[depth];
    }

    void start() {
        dispatcher = threads.start("lakestream-dispatch-r" + rank, () -> dispatch(startStep));
    }

    /**
     * The head step's batch, if its fetch is dispatched and done within about {@code sliceNanos}
     * (twice at most: once for the dispatch, once for the fetch); else null, keeping the head so a
     * later call delivers it. A failed fetch throws its failure; the end of a closed stream stays
     * the head, so every later call reports it again.
     */
    StepBatch poll(long sliceNanos) throws InterruptedException, ExecutionException {
        threads.lock(lock);
        try {
            if (!headTaken) {
                if (count == 0 && !awaitChange(sliceNanos, true)) {
                    return null;
                }
                headTaken = true;
                threads.signalAll(room); // the queue has room again
            }
            Slot h = ring[head];
            if (h.state != DONE && !awaitChange(sliceNanos, false)) {
                return null;
            }
            Throwable failure = h.failure;
            if (failure != null) {
                if (!(failure instanceof EndOfStreamException)) {
                    release();
                }
                throw new ExecutionException(failure);
            }
            StepBatch b = h.batch;
            release();
            return b;
        } finally {
            lock.unlock();
        }
    }

    /** Waits (lock held) up to {@code nanos} until a step is dispatched ({@code dispatched}) or the head is done. */
    private boolean awaitChange(long nanos, boolean dispatched) throws InterruptedException {
        if (nanos <= 0) {
            return false;
        }
        long deadline = clock.monotonicNanos() + nanos;
        while (dispatched ? count == 0 : ring[head].state != DONE) {
            long left = deadline - clock.monotonicNanos();
            if (left <= 0) {
                return false;
            }
            threads.await(lock, done, left);
        }
        return true;
    }

    /** The consumer is done with the head slot (lock held). */
    private void release() {
        Slot h = ring[head];
        h.entry = null;
        h.batch = null;
        h.failure = null;
        head = (head + 1) % ring.length;
        count--;
        headTaken = false;
        threads.signalAll(room);
    }

    /** Whether the next step is dispatched (so committed) but not fetched yet. */
    boolean headDispatched() {
        threads.lock(lock);
        try {
            return headTaken;
        } finally {
            lock.unlock();
        }
    }

    private void dispatch(long start) {
        long step = start;
        try {
            while (!closing) {
                if (step >= feed.committedSteps()) {
                    if (feed.endStep() < 0) {
                        // a store failure that outlives the store's retries stops the reader: next() throws it
                        feed.await(step, DISPATCH_WAIT_NANOS); // close interrupts it
                    }
                    long end = feed.endStep();
                    if (end >= 0 && step >= end) {
                        // Closed stream: nothing will follow. The consumer learns it after the last step.
                        enqueue(step, null, new EndOfStreamException(stream, end, step));
                        return;
                    }
                    if (step >= feed.committedSteps()) {
                        continue;
                    }
                }
                final long s = step;
                final TgbEntry entry = feed.entry(s);
                feed.position(s + stride); // the shared log may forget the entries below
                Slot inline = s + stride >= feed.committedSteps() ? claimInline(s, entry) : null;
                if (inline != null) {
                    fetchInto(inline);
                } else if (!enqueue(s, entry, null)) {
                    return; // closing
                }
                step += stride; // the steps in between belong to other readers: never fetched
            }
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            // The consumer gets it after the steps queued before it: wait for room (not drop it when
            // the queue is full, which ended the dispatcher silently and left next() timing out forever)
            try {
                enqueue(step, null, e);
            } catch (InterruptedException closing) {
                // closing
            }
        }
    }

    /**
     * Queues a step: its fetch ({@code failure} null) or a failure for the consumer, waiting for
     * room. False if the prefetcher closed.
     */
    private boolean enqueue(long step, TgbEntry entry, Throwable failure) throws InterruptedException {
        threads.lock(lock);
        try {
            while (count - (headTaken ? 1 : 0) > depth) {
                if (closing) {
                    return false;
                }
                threads.await(lock, room, IDLE_WAIT_NANOS);
            }
            if (closing) {
                return false;
            }
            Slot slot = ring[(head + count) % ring.length];
            slot.step = step;
            slot.entry = entry;
            slot.batch = null;
            slot.failure = failure;
            slot.state = failure == null ? QUEUED : DONE;
            count++;
            if (failure == null && fetchersStarted < depth) {
                // as a fixed thread pool does: a new fetch thread per step until there are depth
                int i = fetchersStarted++;
                fetchers[i] = threads.start("lakestream-fetch-r" + rank, this::fetchLoop);
            }
            if (failure == null) {
                threads.signal(queued);
            }
            threads.signalAll(done);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The slot of step {@code step} for the dispatcher to fetch itself, or null to queue it for a
     * fetch thread. At the head of the stream (nothing in flight, the step after this one not
     * committed yet) the dispatcher has nothing else to do until the log moves, and handing the
     * fetch to a thread costs a wake-up between the follower knowing a step and its fetch
     * starting, on every rank: the largest share of the append-to-visible tail after the commit's
     * fsyncs on 2 cores (docs/benchmarks.md, "What the append→visible tail waits for"). Behind
     * the head (steps in flight, or more committed) the fetch threads keep {@code prefetch}
     * fetches going, as before.
     */
    private Slot claimInline(long step, TgbEntry entry) {
        threads.lock(lock);
        try {
            if (count != 0 || closing) {
                return null;
            }
            Slot slot = ring[head];
            slot.step = step;
            slot.entry = entry;
            slot.batch = null;
            slot.failure = null;
            slot.state = RUNNING; // no fetch thread takes it
            count = 1;
            threads.signalAll(done); // the consumer may take the head and wait for it to be done
            return slot;
        } finally {
            lock.unlock();
        }
    }

    /** A fetch thread: fetches the oldest queued step, in dispatch order, until the prefetcher closes. */
    private void fetchLoop() {
        while (true) {
            Slot s;
            threads.lock(lock);
            try {
                while ((s = oldestQueued()) == null) {
                    if (closing) {
                        return;
                    }
                    threads.await(lock, queued, IDLE_WAIT_NANOS);
                }
                if (closing) {
                    return; // steps not started yet are dropped, as a thread pool's shutdownNow drops them
                }
                s.state = RUNNING;
            } catch (InterruptedException e) {
                return; // closing
            } finally {
                lock.unlock();
            }
            fetchInto(s);
        }
    }

    /** Fetches a RUNNING slot's step (on a fetch thread, or the dispatcher at the head) and marks it done. */
    private void fetchInto(Slot s) {
        StepBatch b = null;
        Throwable failure = null;
        ReaderMetrics.ShardFetchEvent event = ReaderMetrics.fetchBegin();
        try {
            b = fetch.fetch(s.step, s.entry);
        } catch (Throwable t) {
            failure = t;
        }
        ReaderMetrics.fetched(event, s.step, rank, b);
        threads.lock(lock);
        try {
            s.batch = b;
            s.failure = failure;
            s.state = DONE;
            threads.signalAll(done);
        } finally {
            lock.unlock();
        }
    }

    /** The oldest step dispatched and not started (lock held), or null. */
    private Slot oldestQueued() {
        for (int i = 0; i < count; i++) {
            Slot s = ring[(head + i) % ring.length];
            if (s.state == QUEUED) {
                return s;
            }
        }
        return null;
    }

    /** Whether a {@link #close} got both the dispatcher and the fetch threads to stop. */
    boolean stopped() {
        return stopped;
    }

    /** Stops the dispatcher and the fetches, then closes every batch fetched and not delivered. */
    void close() {
        closing = true;
        Threads.Worker[] started;
        threads.lock(lock);
        try {
            threads.signalAll(queued);
            threads.signalAll(done);
            threads.signalAll(room);
            started = java.util.Arrays.copyOf(fetchers, fetchersStarted);
        } finally {
            lock.unlock();
        }
        boolean all = true;
        try {
            if (dispatcher != null) {
                dispatcher.interrupt();
                all = dispatcher.join(5_000);
            }
            // Interrupt fetches too: one may be waiting for a pool slab the consumer still holds.
            for (Threads.Worker w : started) {
                w.interrupt();
            }
            long deadline = clock.monotonicNanos() + TimeUnit.SECONDS.toNanos(10);
            for (Threads.Worker w : started) {
                all &= w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - clock.monotonicNanos())));
            }
        } catch (InterruptedException e) {
            all = false;
            Thread.currentThread().interrupt();
        }
        threads.lock(lock);
        try {
            stopped = all;
            for (; count > 0; count--) {
                Slot s = ring[head];
                if (s.state == DONE && s.batch != null) {
                    s.batch.close();
                }
                s.batch = null;
                s.entry = null;
                s.failure = null;
                head = (head + 1) % ring.length;
            }
            headTaken = false;
        } finally {
            lock.unlock();
        }
    }
}
