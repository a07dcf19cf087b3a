package io.lakestream.store;

import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * How often and how patiently a store operation is retried after a transient failure: at most
 * {@code maxAttempts} attempts in all, separated by full-jitter exponential backoff (a random wait
 * in [0, min(maxDelay, baseDelay · 2^(n−1))] after the n-th failure). Applied once, at the store
 * boundary ({@link RetryingStore} for {@code file://}; the S3 store hands {@code maxAttempts} to
 * the SDK's retry strategy), so the code above never stacks its own retries on top.
 *
 * @param maxAttempts     attempts per operation, ≥ 1 (1 = no retries)
 * @param baseDelayMillis backoff cap after the first failure
 * @param maxDelayMillis  backoff cap overall
 */
public record RetryPolicy(int maxAttempts, long baseDelayMillis, long maxDelayMillis) {
    /** The default attempts, also the S3 store's default {@code max_attempts}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 6;

    public RetryPolicy {
        if (maxAttempts < 1 || baseDelayMillis < 0 || maxDelayMillis < baseDelayMillis) {
            throw new IllegalArgumentException("retry policy needs maxAttempts >= 1 and 0 <= baseDelay <= maxDelay, got "
                    + maxAttempts + ", " + baseDelayMillis + ", " + maxDelayMillis);
        }
    }

    /** 6 attempts, backoff from up to 20 ms to up to 2 s (≤ ~2.6 s of waiting in all). */
    public static RetryPolicy defaults() {
        return new RetryPolicy(DEFAULT_MAX_ATTEMPTS, 20, 2_000);
    }

    /** One attempt: failures surface at once. */
    public static RetryPolicy none() {
        return new RetryPolicy(1, 0, 0);
    }

    public RetryPolicy withMaxAttempts(int n) {
        return new RetryPolicy(n, baseDelayMillis, maxDelayMillis);
    }

    /** The wait after the {@code failedAttempt}-th failure (1-based), jittered. */
    public long backoffMillis(int failedAttempt) {
        return backoffMillis(failedAttempt, ThreadLocalRandom.current());
    }

    /** As {@link #backoffMillis(int)}, jittered by {@code random} (a simulation's seeded source). */
    public long backoffMillis(int failedAttempt, RandomGenerator random) {
        int shift = Math.min(Math.max(failedAttempt - 1, 0), 30);
        long cap = Math.min(maxDelayMillis, baseDelayMillis << shift);
        return cap <= 0 ? 0 : random.nextLong(cap + 1);
    }
}
