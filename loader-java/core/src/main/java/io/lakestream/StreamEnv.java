package io.lakestream;

import io.lakestream.time.Clock;
import java.util.Objects;

/**
 * What a process's protocol code takes from its surroundings, passed in rather than read from
 * globals: the clock. {@link #defaults()} is what every overload without an env uses; tests pass
 * their own (a manual clock), so they are deterministic and can run in parallel.
 */
public record StreamEnv(Clock clock) {
    private static final StreamEnv DEFAULTS = new StreamEnv(Clock.system());

    public StreamEnv {
        Objects.requireNonNull(clock, "clock");
    }

    /** The system clock. */
    public static StreamEnv defaults() {
        return DEFAULTS;
    }

    public StreamEnv withClock(Clock c) {
        return new StreamEnv(c);
    }
}
