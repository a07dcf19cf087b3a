package io.lakestream.testkit;

import io.lakestream.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * The machine's clocks plus an offset that a test moves forward: {@link #jump} is time passing in
 * an instant, as a process paused by a VM or a stop-the-world GC sees it, without the test waiting
 * for it. Everything else runs on real time (sleeps really sleep, threads really race), which is
 * what a test of threaded code wants from a clock that {@link ManualClock} would freeze.
 *
 * <p>Ages against the store's modification times (log grace, orphan grace) see the jump: an object
 * written just before {@code jump(g)} is {@code g} ms old right after it.
 */
public final class JumpingClock implements Clock {
    private volatile long offsetMillis;

    @Override
    public long wallMillis() {
        return System.currentTimeMillis() + offsetMillis;
    }

    @Override
    public long monotonicNanos() {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(offsetMillis);
    }

    @Override
    public void sleep(long millis) throws InterruptedException {
        if (millis > 0) {
            Thread.sleep(millis);
        }
    }

    /** Moves both clocks forward by {@code millis} at once. */
    public synchronized void jump(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("time only moves forward, not by " + millis + " ms");
        }
        offsetMillis += millis;
    }

    @Override
    public String toString() {
        return "JumpingClock[+" + offsetMillis + " ms]";
    }
}
