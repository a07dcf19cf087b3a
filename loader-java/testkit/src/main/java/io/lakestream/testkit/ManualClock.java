package io.lakestream.testkit;

import io.lakestream.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * A clock tests move by hand, for deterministic tests of ages, deadlines and backoff.
 *
 * <p>Two modes. {@linkplain #ManualClock(long) Manual}: time stands still until {@link #advance};
 * a {@link #sleep} blocks until time has advanced past its end (so a test decides exactly when
 * a waiting producer or reader wakes up). {@linkplain #autoAdvancing(long) Auto-advancing}: a
 * sleep moves time forward by its length and returns at once (backoff and polling cost no real
 * time; time advances only through sleeps and {@link #advance}).
 */
public final class ManualClock implements Clock {
    private final boolean autoAdvance;
    private long wallMillis;
    private long nanos;
    private long sleeps;
    private long sleptMillis;

    /** A manual clock standing at {@code wallMillis}. */
    public ManualClock(long wallMillis) {
        this(wallMillis, false);
    }

    /**
     * A manual clock standing at {@code wallMillis}, its monotonic clock at {@code monotonicNanos}:
     * a monotonic clock's origin is arbitrary ({@link System#nanoTime} may be negative), and code
     * that takes one reading for "none" breaks where the clock happens to stand there.
     */
    public ManualClock(long wallMillis, long monotonicNanos) {
        this(wallMillis, false);
        this.nanos = monotonicNanos;
    }

    private ManualClock(long wallMillis, boolean autoAdvance) {
        this.wallMillis = wallMillis;
        this.autoAdvance = autoAdvance;
    }

    /** A clock whose sleeps advance it instead of waiting. */
    public static ManualClock autoAdvancing(long wallMillis) {
        return new ManualClock(wallMillis, true);
    }

    @Override
    public synchronized long wallMillis() {
        return wallMillis;
    }

    @Override
    public synchronized long monotonicNanos() {
        return nanos;
    }

    /** Moves both clocks forward and wakes the sleepers whose time has come. */
    public synchronized void advance(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("time only moves forward, not by " + millis + " ms");
        }
        wallMillis += millis;
        nanos += TimeUnit.MILLISECONDS.toNanos(millis);
        notifyAll();
    }

    /** Sets the wall clock alone (a clock step, as NTP may make); the monotonic clock is unaffected. */
    public synchronized void setWallMillis(long millis) {
        wallMillis = millis;
    }

    @Override
    public synchronized void sleep(long millis) throws InterruptedException {
        if (millis <= 0) {
            return;
        }
        sleeps++;
        sleptMillis += millis;
        notifyAll(); // for awaitSleeps
        if (autoAdvance) {
            advance(millis);
            return;
        }
        long end = nanos + TimeUnit.MILLISECONDS.toNanos(millis);
        while (nanos < end) {
            wait();
        }
    }

    /**
     * Blocks until {@code n} sleeps have been asked for in all (a thread under test reached its
     * n-th wait), or throws after {@code timeoutMillis} of real time.
     */
    public synchronized void awaitSleeps(long n, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (sleeps < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IllegalStateException("no sleep " + n + " within " + timeoutMillis + " ms (" + sleeps + " so far)");
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /** How many sleeps were asked for so far. */
    public synchronized long sleeps() {
        return sleeps;
    }

    /** The total length of the sleeps asked for so far. */
    public synchronized long sleptMillis() {
        return sleptMillis;
    }

    @Override
    public synchronized String toString() {
        return "ManualClock[wall " + wallMillis + " ms, monotonic " + nanos + " ns" + (autoAdvance ? ", auto-advancing" : "") + "]";
    }
}
