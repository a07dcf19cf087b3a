package io.lakestream.compare;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A sorted sample of latencies in nanoseconds: percentiles and CDF points, no binning. */
final class Latencies {
    private final long[] sorted;

    Latencies(long[] nanos) {
        this.sorted = nanos.clone();
        Arrays.sort(sorted);
    }

    int count() {
        return sorted.length;
    }

    /** The p-th percentile (nearest rank) in milliseconds, NaN if empty. */
    double percentileMillis(double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.length / 100.0 - 1e-9) - 1; // 99.9 * 1000 / 100 is 999.0000000000001
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    double meanMillis() {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (long v : sorted) {
            s += v;
        }
        return s / sorted.length / 1e6;
    }

    /** p50, p99, p99.9, max and count as a JSON-ready map (milliseconds). */
    Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", sorted.length);
        m.put("p50_ms", percentileMillis(50));
        m.put("p99_ms", percentileMillis(99));
        m.put("p999_ms", percentileMillis(99.9));
        m.put("max_ms", percentileMillis(100));
        m.put("mean_ms", meanMillis());
        return m;
    }

    /** Up to {@code points} (latency ms, fraction ≤) pairs for a CDF plot. */
    double[][] cdf(int points) {
        int n = Math.min(points, sorted.length);
        double[][] out = new double[n][2];
        for (int k = 0; k < n; k++) {
            int i = n == 1 ? sorted.length - 1 : (int) Math.round((double) k * (sorted.length - 1) / (n - 1));
            out[k][0] = sorted[i] / 1e6;
            out[k][1] = (i + 1.0) / sorted.length;
        }
        return out;
    }

    static String ms(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
    }
}
