package io.lakestream;

import io.lakestream.fail.FailPoints;
import io.lakestream.time.Clock;
import java.util.Objects;

/**
 * What a process's protocol code takes from its surroundings, passed in rather than read from
 * globals: the clock and the fail-point registry. {@link #defaults()} (the system clock, no fail
 * points) is what every overload without an env uses; tests pass their own (a manual clock,
 * a registry they arm), so they are deterministic and can run in parallel.
 */
public record StreamEnv(Clock clock, FailPoints failPoints) {
    private static final StreamEnv DEFAULTS = new StreamEnv(Clock.system(), FailPoints.none());

    public StreamEnv {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(failPoints, "failPoints");
    }

    /** The system clock and {@link FailPoints#none()}. */
    public static StreamEnv defaults() {
        return DEFAULTS;
    }

    /** The defaults with the fail points armed by {@code LAKESTREAM_FAILPOINTS} (for command-line processes). */
    public static StreamEnv fromEnvironment() {
        return DEFAULTS.withFailPoints(FailPoints.fromEnvironment());
    }

    public StreamEnv withClock(Clock c) {
        return new StreamEnv(c, failPoints);
    }

    public StreamEnv withFailPoints(FailPoints f) {
        return new StreamEnv(clock, f);
    }
}
