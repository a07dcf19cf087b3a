package io.lakestream;

import io.lakestream.fail.FailPoints;
import io.lakestream.time.Clock;
import io.lakestream.time.Threads;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * What a process's protocol code takes from its surroundings, passed in rather than read from
 * globals: the clock, the fail-point registry, the random source (backoff jitter, commit
 * tokens) and how background work runs and waits ({@link Threads}: a simulation runs the
 * producer's committer and writers as its own actors). {@link #defaults()} (the system clock, no fail points, thread-local randomness) is
 * what every overload without an env uses; tests pass their own (a manual clock, a registry they
 * arm, a seeded random), so they are deterministic and can run in parallel.
 */
public record StreamEnv(Clock clock, FailPoints failPoints, RandomGenerator random, Threads threads) {
    /** Each call goes to the calling thread's {@link ThreadLocalRandom}: safe to share. */
    private static final RandomGenerator THREAD_LOCAL = new RandomGenerator() {
        @Override
        public long nextLong() {
            return ThreadLocalRandom.current().nextLong();
        }
    };
    private static final StreamEnv DEFAULTS = new StreamEnv(Clock.system(), FailPoints.none(), THREAD_LOCAL, Threads.platform());

    public StreamEnv {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(failPoints, "failPoints");
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(threads, "threads");
    }

    public StreamEnv(Clock clock, FailPoints failPoints, RandomGenerator random) {
        this(clock, failPoints, random, Threads.platform());
    }

    public StreamEnv(Clock clock, FailPoints failPoints) {
        this(clock, failPoints, THREAD_LOCAL);
    }

    /**
     * A random source used only by the thread that owns this env (a seeded simulation process);
     * the default is safe to share between threads.
     */
    public StreamEnv withRandom(RandomGenerator r) {
        return new StreamEnv(clock, failPoints, r, threads);
    }

    /** A fresh random token (a commit's identity in the log): 122 random bits, UUID-formatted. */
    public String newToken() {
        long hi = (random.nextLong() & ~0xF000L) | 0x4000L;
        long lo = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(hi, lo).toString();
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
        return new StreamEnv(c, failPoints, random, threads);
    }

    public StreamEnv withFailPoints(FailPoints f) {
        return new StreamEnv(clock, f, random, threads);
    }

    public StreamEnv withThreads(Threads t) {
        return new StreamEnv(clock, failPoints, random, t);
    }
}
