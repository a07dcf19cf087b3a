package io.lakestream.metrics;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A latency distribution in fixed log-scale buckets: bucket {@code i} counts durations up to
 * 2<sup>{@value #MIN_EXP}+i</sup> ns, from about 1 µs to about 69 s, and one more counts the rest.
 * The bucket of a value is found from its leading zeros (no search, no branch per bucket), and an
 * observation is two lock-free adds: nothing allocates and nothing locks on the hot path, whatever
 * the scrape does at the same time. Exported in seconds (Prometheus base units).
 */
public final class Histogram implements Meter {
    /** The first bucket's upper bound is 2^MIN_EXP ns (1.024 µs). */
    static final int MIN_EXP = 10;
    /** The last finite bucket's upper bound is 2^MAX_EXP ns (68.7 s). */
    static final int MAX_EXP = 36;
    /** Finite buckets; index {@code FINITE} is the +Inf bucket. */
    public static final int FINITE = MAX_EXP - MIN_EXP + 1;

    private final MeterId id;
    private final AtomicLongArray buckets = new AtomicLongArray(FINITE + 1);
    private final LongAdder sumNanos = new LongAdder();

    Histogram(MeterId id) {
        this.id = id;
    }

    /** Records one duration; a negative one (a clock step) counts as zero. */
    public void recordNanos(long nanos) {
        long v = Math.max(0, nanos);
        buckets.getAndIncrement(bucketOf(v));
        sumNanos.add(v);
    }

    /** The bucket index of {@code nanos}: the least {@code i} with nanos ≤ 2^(MIN_EXP+i), or {@link #FINITE}. */
    static int bucketOf(long nanos) {
        int exp = nanos <= 1 ? 0 : 64 - Long.numberOfLeadingZeros(nanos - 1); // ceil(log2)
        return Math.min(FINITE, Math.max(0, exp - MIN_EXP));
    }

    /** Upper bound of finite bucket {@code i}, in seconds. */
    public static double upperBoundSeconds(int i) {
        return Math.scalb(1.0, MIN_EXP + i) / 1e9;
    }

    /** Observations per bucket (not cumulative), the last being +Inf. */
    public long[] bucketCounts() {
        long[] c = new long[FINITE + 1];
        for (int i = 0; i < c.length; i++) {
            c[i] = buckets.get(i);
        }
        return c;
    }

    public long count() {
        long n = 0;
        for (int i = 0; i <= FINITE; i++) {
            n += buckets.get(i);
        }
        return n;
    }

    public double sumSeconds() {
        return sumNanos.sum() / 1e9;
    }

    @Override
    public MeterId id() {
        return id;
    }

    @Override
    public String type() {
        return "histogram";
    }
}
