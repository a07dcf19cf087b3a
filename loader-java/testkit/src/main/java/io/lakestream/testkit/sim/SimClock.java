package io.lakestream.testkit.sim;

import io.lakestream.time.Clock;

/**
 * One process's view of time in a simulation: simulated time seen through this process's own
 * clock, which may be skewed (its wall clock is off by {@code skewMillis}, and may be stepped
 * later, as NTP does) and may run at a slightly different rate. Sleeping gives the baton back
 * to the {@link SimScheduler} for that long.
 *
 * <p>Give each simulated process its own SimClock: what one process measures must never leak
 * into another's decisions except through the store.
 */
public final class SimClock implements Clock {
    /** Simulated runs start on 2026-11-27 00:00 UTC, so wall times look like wall times. */
    public static final long EPOCH_MILLIS = 1_795_737_600_000L;

    private final SimScheduler sim;
    private final double rate;
    private volatile long skewMillis;

    /**
     * @param skewMillis how far this process's wall clock is ahead (negative: behind) of true time
     * @param rate       how fast its clocks run relative to true time (1.0: exact; 1.0001: 100 ppm fast)
     */
    public SimClock(SimScheduler sim, long skewMillis, double rate) {
        if (!(rate > 0.5 && rate < 2)) {
            throw new IllegalArgumentException("clock rate " + rate + " is implausible");
        }
        this.sim = sim;
        this.skewMillis = skewMillis;
        this.rate = rate;
    }

    public SimClock(SimScheduler sim) {
        this(sim, 0, 1.0);
    }

    @Override
    public long wallMillis() {
        return EPOCH_MILLIS + skewMillis + (long) (sim.nowNanos() * rate / 1_000_000);
    }

    @Override
    public long monotonicNanos() {
        return (long) (sim.nowNanos() * rate);
    }

    @Override
    public void sleep(long millis) {
        if (millis > 0) {
            sim.await((long) (millis * 1_000_000 / rate));
        } else {
            sim.await(0);
        }
    }

    /** Steps the wall clock (the monotonic clock is unaffected). */
    public void stepWall(long deltaMillis) {
        skewMillis += deltaMillis;
    }

    public long skewMillis() {
        return skewMillis;
    }
}
