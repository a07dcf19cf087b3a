package io.lakestream.time;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * How a process runs its background work and waits for it, injected (through
 * {@link io.lakestream.StreamEnv}) like the clock: production uses platform threads and
 * {@link Condition}s ({@link #platform()}); a deterministic simulation runs the same code as its
 * own actors, where a thread that blocks outside the simulation would stop the run, so every
 * blocking step of the protocol code that may meet another of its threads goes through here:
 * starting a worker, handing a task to writers, acquiring a lock that another worker may hold
 * across store I/O, waiting on a condition.
 */
public interface Threads {
    /** A started background worker. */
    interface Worker {
        /** Waits at most {@code millis} for the worker's body to return; true if it did. */
        boolean join(long millis) throws InterruptedException;

        /** Asks the worker to stop waiting (its blocking calls throw {@link InterruptedException}). */
        void interrupt();

        /**
         * Lets the body finish for up to {@code graceMillis} (work in progress lands), then
         * interrupts it and waits up to {@code afterMillis} more. An interrupt of the caller ends
         * the wait and stays set on it.
         */
        default void stop(long graceMillis, long afterMillis) {
            try {
                if (!join(graceMillis)) {
                    interrupt();
                    join(afterMillis);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A pool of {@code parallelism} workers that run the tasks handed to it, in order of arrival. */
    interface Pool extends Executor, AutoCloseable {
        /** Lets the tasks handed over so far finish (at most 30 s), then stops the workers. */
        @Override
        void close();
    }

    /** Starts {@code body} on a new daemon worker called {@code name}. */
    Worker start(String name, Runnable body);

    /** A pool of {@code parallelism} daemon workers whose names start with {@code name}. */
    Pool pool(String name, int parallelism);

    /** Acquires {@code lock}, which another worker may hold across store I/O. */
    void lock(Lock lock);

    /**
     * Waits on {@code condition} of {@code lock} (held by the caller) for a signal, at most
     * {@code nanos}; may return early, so callers re-check what they wait for in a loop.
     */
    void await(Lock lock, Condition condition, long nanos) throws InterruptedException;

    /** Wakes every waiter of {@code condition} (the caller holds its lock), as {@link Condition#signalAll()}. */
    void signalAll(Condition condition);

    /**
     * Wakes one waiter of {@code condition} (the caller holds its lock), as {@link Condition#signal()}:
     * for a condition whose waiters are interchangeable (idle workers of one queue). Waking more
     * is allowed (every waiter re-checks), so the default wakes every one.
     */
    default void signal(Condition condition) {
        signalAll(condition);
    }

    /** Platform daemon threads and the conditions' own waits. */
    static Threads platform() {
        return PlatformThreads.INSTANCE;
    }

    /** Converts a millisecond timeout for {@link #await}. */
    static long millis(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }
}
