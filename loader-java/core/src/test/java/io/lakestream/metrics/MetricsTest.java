package io.lakestream.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The registry, the log-scale buckets and the Prometheus text they are written as. */
class MetricsTest {

    @Test
    void bucketsAreLogScaleUpperBoundsInclusive() {
        assertEquals(0, Histogram.bucketOf(0));
        assertEquals(0, Histogram.bucketOf(1024)); // le 2^10 ns
        assertEquals(1, Histogram.bucketOf(1025));
        assertEquals(1, Histogram.bucketOf(2048));
        assertEquals(10, Histogram.bucketOf(1L << 20)); // ~1 ms
        assertEquals(Histogram.FINITE - 1, Histogram.bucketOf(1L << 36));
        assertEquals(Histogram.FINITE, Histogram.bucketOf((1L << 36) + 1)); // +Inf
        assertEquals(Histogram.FINITE, Histogram.bucketOf(Long.MAX_VALUE));
        assertEquals(1.024e-6, Histogram.upperBoundSeconds(0), 1e-15);
    }

    @Test
    void registrationIsIdempotentAndTypesAndNamesAreChecked() {
        Metrics m = new Metrics();
        Counter a = m.counter("x_total", "help", "op", "get");
        assertSame(a, m.counter("x_total", "help", "op", "get"));
        assertTrue(a != m.counter("x_total", "help", "op", "put"), "other labels are another series");
        assertThrows(IllegalArgumentException.class, () -> m.gauge("x_total", "help"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("bad-name", "help"));
        assertThrows(IllegalArgumentException.class, () -> m.counter("y_total", "help", "op"));
        Gauge computed = m.gauge("z", "help", () -> 0.5);
        assertThrows(UnsupportedOperationException.class, () -> computed.set(1));
    }

    @Test
    void prometheusTextHasOneHelpAndTypePerFamilyAndCumulativeBuckets() {
        Metrics m = new Metrics();
        m.counter("req_total", "Requests", "op", "get").add(3);
        m.counter("req_total", "Requests", "op", "say \"hi\"").inc();
        m.gauge("slabs", "Slabs").set(7);
        m.gauge("share", "Share", () -> 0.25);
        Histogram h = m.histogram("wait_seconds", "Wait");
        h.recordNanos(1000);          // bucket 0
        h.recordNanos(1_500_000);     // ~1.5 ms
        h.recordNanos(100_000_000_000L); // 100 s: +Inf only
        String text = PrometheusText.write(m);
        assertEquals(1, count(text, "# TYPE req_total counter"), text);
        assertTrue(text.contains("req_total{op=\"get\"} 3\n"), text);
        assertTrue(text.contains("req_total{op=\"say \\\"hi\\\"\"} 1\n"), text);
        assertTrue(text.contains("# TYPE slabs gauge\nslabs 7\n"), text);
        assertTrue(text.contains("share 0.25\n"), text);
        assertTrue(text.contains("# TYPE wait_seconds histogram"), text);
        assertTrue(text.contains("wait_seconds_bucket{le=\"1.024E-6\"} 1\n"), text);
        assertTrue(text.contains("wait_seconds_bucket{le=\"0.002097152\"} 2\n"), text);
        assertTrue(text.contains("wait_seconds_bucket{le=\"+Inf\"} 3\n"), text);
        assertTrue(text.contains("wait_seconds_count 3\n"), text);
        assertTrue(text.contains("wait_seconds_sum 100.001501\n"), text);
        assertEquals(3.0, m.snapshot().get("wait_seconds_count"));
        assertEquals(3.0, m.snapshot().get("req_total{op=\"get\"}"));
    }

    @Test
    void concurrentRecordingLosesNothing() throws Exception {
        Metrics m = new Metrics();
        Histogram h = m.histogram("h_seconds", "h");
        Counter c = m.counter("c_total", "c");
        Thread[] ts = new Thread[4];
        for (int t = 0; t < ts.length; t++) {
            ts[t] = new Thread(() -> {
                for (int i = 0; i < 100_000; i++) {
                    h.recordNanos(i);
                    c.inc();
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(400_000, h.count());
        assertEquals(400_000, c.value());
        assertEquals(4 * (99_999L * 100_000 / 2) / 1e9, h.sumSeconds(), 1e-9);
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
            n++;
        }
        return n;
    }
}
