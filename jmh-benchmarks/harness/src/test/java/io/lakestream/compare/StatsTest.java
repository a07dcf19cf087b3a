package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bootstrap against distributions whose answer is known. */
class StatsTest {
    @Test
    void medianIntervalOfANormalSampleHasTheTheoreticalWidth() {
        Random rnd = new Random(7);
        double[] xs = new double[1001];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = 10 + rnd.nextGaussian();
        }
        Stats.Interval iv = Stats.median(xs, 1);
        assertTrue(iv.lo() < 10 && 10 < iv.hi(), iv.toString());
        // the median's standard error is 1.2533 / sqrt(n) = 0.0396: a 95 % interval about 0.155 wide
        double width = iv.hi() - iv.lo();
        assertTrue(width > 0.10 && width < 0.22, "width " + width);
        assertEquals(iv, Stats.median(xs, 1), "seeded: the same interval again");
        assertEquals(1001, iv.n());
    }

    @Test
    void medianIntervalsCoverTheTrueMedianAboutNinetyFivePercentOfTheTime() {
        Random rnd = new Random(11);
        double trueMedian = Math.log(2); // exponential(1)
        int covered = 0;
        int trials = 200;
        for (int t = 0; t < trials; t++) {
            double[] xs = new double[101];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = -Math.log(1 - rnd.nextDouble());
            }
            Stats.Interval iv = Stats.median(xs, t);
            if (iv.lo() <= trueMedian && trueMedian <= iv.hi()) {
                covered++;
            }
        }
        assertTrue(covered >= 0.88 * trials && covered <= trials, covered + " of " + trials);
    }

    @Test
    void ratioOfMediansAndItsInterval() {
        Random rnd = new Random(3);
        double[] a = new double[5];
        double[] b = new double[5];
        for (int i = 0; i < 5; i++) {
            a[i] = 300 * (1 + 0.02 * rnd.nextGaussian());
            b[i] = 100 * (1 + 0.02 * rnd.nextGaussian());
        }
        Stats.Interval r = Stats.medianRatio(a, b, 5);
        assertTrue(Math.abs(r.value() - 3) < 0.15, r.toString());
        assertTrue(r.lo() <= r.value() && r.value() <= r.hi() && r.lo() > 2.7 && r.hi() < 3.3, r.toString());
        // five repeats: the interval of a median of 5 lies within the range of the values
        Stats.Interval m = Stats.median(new double[] {1, 2, 3, 4, 5}, 9);
        assertEquals(3.0, m.value());
        assertTrue(m.lo() >= 1 && m.lo() <= 3 && m.hi() >= 3 && m.hi() <= 5, m.toString());
    }

    @Test
    void pooledPercentilesAndTheirRatioWithTwoLevelResampling() {
        // Uniform latencies: side A 1..1000 us, side B twice as slow; five repeats each.
        List<long[]> a = new ArrayList<>();
        List<long[]> b = new ArrayList<>();
        Random rnd = new Random(5);
        for (int rep = 0; rep < 5; rep++) {
            long[] x = new long[400];
            long[] y = new long[400];
            for (int i = 0; i < x.length; i++) {
                x[i] = 1_000 + rnd.nextInt(999_000);
                y[i] = 2 * (1_000 + rnd.nextInt(999_000));
            }
            a.add(x);
            b.add(y);
        }
        Stats.Interval p50 = Stats.percentile(a, 50, 1);
        assertTrue(Math.abs(p50.value() - 500_000) < 40_000, p50.toString());
        assertTrue(p50.lo() < 500_000 && 500_000 < p50.hi(), p50.toString());
        Stats.Interval p99 = Stats.percentile(a, 99, 1);
        assertTrue(p99.lo() < 990_000 && 990_000 < p99.hi() + 5_000, p99.toString());
        Stats.Interval ratio = Stats.percentileRatio(a, b, 50, 2);
        assertTrue(ratio.lo() < 0.5 && 0.5 < ratio.hi() && ratio.hi() - ratio.lo() < 0.12, ratio.toString());
        assertEquals(2000, p50.n());
        assertTrue(!Stats.percentile(List.of(), 50, 1).known());
        assertEquals(3.0, Stats.nearestRank(new long[] {5, 1, 4, 2, 3}, 50));
    }
}
