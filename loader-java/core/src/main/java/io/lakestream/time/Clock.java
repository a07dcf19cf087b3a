package io.lakestream.time;

/**
 * Where the protocol gets time from, injected so that tests can run it on simulated time:
 * <ul>
 *   <li>{@link #wallMillis()}: calendar time, for timestamps written to the store and for ages of
 *       objects (compared with the store's modification times);</li>
 *   <li>{@link #monotonicNanos()}: elapsed time, for deadlines, timeouts and rate limits (never
 *       jumps with clock adjustments; only differences mean anything);</li>
 *   <li>{@link #sleep}: backoff and polling waits.</li>
 * </ul>
 * Implementations are thread-safe. {@link #system()} is the default everywhere.
 */
public interface Clock {
    /** Milliseconds since the epoch, as {@link System#currentTimeMillis()}. */
    long wallMillis();

    /** A monotonic reading in nanoseconds, as {@link System#nanoTime()}. */
    long monotonicNanos();

    /** Waits {@code millis} (≤ 0: returns at once). */
    void sleep(long millis) throws InterruptedException;

    /** The machine's clocks and {@link Thread#sleep}. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}
