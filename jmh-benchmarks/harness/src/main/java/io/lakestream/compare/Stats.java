package io.lakestream.compare;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Point estimates with 95 % percentile-bootstrap confidence intervals, seeded so a run's
 * intervals can be recomputed from its JSON.
 *
 * <ul>
 *   <li>{@link #median}: the median of per-repeat figures (throughput, commit rate), resampling the repeats.
 *   <li>{@link #percentile}: a latency percentile of the samples of every repeat pooled; a
 *       two-level bootstrap (repeats with replacement, then samples within each chosen repeat),
 *       so the interval carries the spread between repeats as well as within them.
 *   <li>{@link #medianRatio} and {@link #percentileRatio}: a ratio A/B, each side resampled
 *       independently in every bootstrap round and the ratio taken per round.
 * </ul>
 */
final class Stats {
    /** Bootstrap rounds. */
    static final int ROUNDS = 2000;

    private Stats() {}

    /** A point estimate and its 95 % interval; {@code n} = what it was computed from (repeats or samples). */
    record Interval(double value, double lo, double hi, int n) {
        static final Interval NONE = new Interval(Double.NaN, Double.NaN, Double.NaN, 0);

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("value", value);
            m.put("lo", lo);
            m.put("hi", hi);
            m.put("n", n);
            return m;
        }

        static Interval of(Object map) {
            Map<String, Object> m = Summary.map(map);
            if (m == null) {
                return NONE;
            }
            return new Interval(Compare.num(m, "value"), Compare.num(m, "lo"), Compare.num(m, "hi"),
                    m.get("n") instanceof Number x ? x.intValue() : 0);
        }

        boolean known() {
            return !Double.isNaN(value);
        }
    }

    /** The median of {@code xs} (mean of the middle two if even) with a bootstrap interval. */
    static Interval median(double[] xs, long seed) {
        if (xs.length == 0) {
            return Interval.NONE;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] boot = new double[ROUNDS];
        double[] buf = new double[xs.length];
        for (int b = 0; b < ROUNDS; b++) {
            boot[b] = median(resample(xs, buf, rnd));
        }
        return interval(median(xs.clone()), boot, xs.length);
    }

    /** median(a) / median(b) with a bootstrap interval (a and b resampled independently). */
    static Interval medianRatio(double[] a, double[] b, long seed) {
        if (a.length == 0 || b.length == 0) {
            return Interval.NONE;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] boot = new double[ROUNDS];
        double[] ba = new double[a.length];
        double[] bb = new double[b.length];
        for (int i = 0; i < ROUNDS; i++) {
            boot[i] = median(resample(a, ba, rnd)) / median(resample(b, bb, rnd));
        }
        return interval(median(a.clone()) / median(b.clone()), boot, Math.min(a.length, b.length));
    }

    /** The p-th percentile (nearest rank, in the samples' unit) of every repeat's samples pooled, with a two-level bootstrap interval. */
    static Interval percentile(List<long[]> repeats, double p, long seed) {
        int n = total(repeats);
        if (n == 0) {
            return Interval.NONE;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] boot = new double[ROUNDS];
        for (int b = 0; b < ROUNDS; b++) {
            boot[b] = nearestRank(twoLevel(repeats, rnd), p);
        }
        return interval(nearestRank(pool(repeats), p), boot, n);
    }

    /** percentile(a) / percentile(b), both two-level resampled independently per round. */
    static Interval percentileRatio(List<long[]> a, List<long[]> b, double p, long seed) {
        if (total(a) == 0 || total(b) == 0) {
            return Interval.NONE;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] boot = new double[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            boot[i] = nearestRank(twoLevel(a, rnd), p) / nearestRank(twoLevel(b, rnd), p);
        }
        return interval(nearestRank(pool(a), p) / nearestRank(pool(b), p), boot, Math.min(total(a), total(b)));
    }

    /** The nearest-rank percentile of unsorted samples (sorts a copy). */
    static double nearestRank(long[] samples, double p) {
        long[] s = samples.clone();
        Arrays.sort(s);
        return sortedRank(s, p);
    }

    private static double sortedRank(long[] sorted, double p) {
        int i = (int) Math.ceil(p * sorted.length / 100.0 - 1e-9) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static int total(List<long[]> repeats) {
        int n = 0;
        for (long[] r : repeats) {
            n += r.length;
        }
        return n;
    }

    static long[] pool(List<long[]> repeats) {
        long[] out = new long[total(repeats)];
        int at = 0;
        for (long[] r : repeats) {
            System.arraycopy(r, 0, out, at, r.length);
            at += r.length;
        }
        return out;
    }

    /** Repeats drawn with replacement, then each drawn repeat's samples drawn with replacement (its own size). */
    private static long[] twoLevel(List<long[]> repeats, SplittableRandom rnd) {
        int k = repeats.size();
        long[][] chosen = new long[k][];
        int n = 0;
        for (int i = 0; i < k; i++) {
            chosen[i] = repeats.get(rnd.nextInt(k));
            n += chosen[i].length;
        }
        long[] out = new long[n];
        int at = 0;
        for (long[] r : chosen) {
            for (int j = 0; j < r.length; j++) {
                out[at++] = r[rnd.nextInt(r.length)];
            }
        }
        return out;
    }

    private static double[] resample(double[] xs, double[] buf, SplittableRandom rnd) {
        for (int i = 0; i < xs.length; i++) {
            buf[i] = xs[rnd.nextInt(xs.length)];
        }
        return buf;
    }

    /** Median of {@code xs}, sorting it in place. */
    private static double median(double[] xs) {
        Arrays.sort(xs);
        int m = xs.length / 2;
        return xs.length % 2 == 1 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
    }

    private static Interval interval(double value, double[] boot, int n) {
        double[] s = Arrays.stream(boot).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (s.length == 0) {
            return new Interval(value, Double.NaN, Double.NaN, n);
        }
        return new Interval(value, s[(int) Math.floor(0.025 * (s.length - 1))], s[(int) Math.ceil(0.975 * (s.length - 1))], n);
    }
}
