package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The headline line and the target checks are computed from the results map, as a reader of the JSON would. */
class SummaryTest {
    /** The issue's line: ratios Lakestream / tuned Kafka with flush.messages=1, brackets = 95 % intervals. */
    static final Pattern LINE = Pattern.compile("ingestion lakestream/kafka = \\d+\\.\\d\\d \\[\\d+\\.\\d\\d-\\d+\\.\\d\\d\\], "
            + "visible p50 = \\d+\\.\\d\\d, p99 = \\d+\\.\\d\\d \\[\\d+\\.\\d\\d-\\d+\\.\\d\\d\\], "
            + "fetch p50 = \\d+\\.\\d\\d, p99 = \\d+\\.\\d\\d, commit rate 100k/1k = \\d+\\.\\d\\d");

    private static Map<String, Object> m(Object... kv) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            out.put((String) kv[i], kv[i + 1]);
        }
        return out;
    }

    private static Map<String, Object> iv(double v, double lo, double hi) {
        return new Stats.Interval(v, lo, hi, 5).toMap();
    }

    private static Map<String, Object> results() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("meta", m("date", "d", "cores", 2, "jdk", "25", "load_start", "1", "load_end", "1", "wall_s", 1.0, "seed", 42L, "reruns", 0));
        r.put("ingest", m(
                "file", m("1", m("mb_per_s", 300.0, "mb_per_s_ci", iv(300, 290, 310), "client_peak_rss_mb", 130.0,
                        "client_cpu_s_per_gb", 2.0, "repeats", List.of(m("mb_per_s", 290.0), m("mb_per_s", 300.0), m("mb_per_s", 310.0)))),
                "kafka-flush", m("1", m("mb_per_s", 100.0, "mb_per_s_ci", iv(100, 95, 105), "client_peak_rss_mb", 300.0,
                        "total_cpu_s_per_gb", 9.0, "repeats", List.of(m("mb_per_s", 95.0), m("mb_per_s", 100.0), m("mb_per_s", 105.0))))));
        r.put("headline", m("against", "kafka-flush", "ingest", iv(3.0, 2.76, 3.26), "visible_p50", iv(0.8, 0.7, 0.9),
                "visible_p99", iv(1.2, 0.9, 1.5), "fetch_p50", iv(4.5, 4.0, 5.0), "fetch_p99", iv(0.3, 0.25, 0.4),
                "commit_rate", iv(0.95, 0.91, 0.99), "commit_rate_sizes", List.of(1000L, 100000L)));
        return r;
    }

    @Test
    void finalLineIsTheIssuesFormat() {
        Summary s = new Summary(results(), Options.parse(new String[] {"--quick"}, Path.of("/r")));
        String line = s.finalLine();
        assertEquals("ingestion lakestream/kafka = 3.00 [2.76-3.26], visible p50 = 0.80, p99 = 1.20 [0.90-1.50], fetch p50 = 4.50, "
                + "p99 = 0.30, commit rate 100k/1k = 0.95", line);
        assertTrue(LINE.matcher(line).matches(), line);
    }

    @Test
    void targetsAreJudgedOnTheConservativeEnd() {
        Summary s = new Summary(results(), Options.parse(new String[] {"--quick"}, Path.of("/r")));
        List<Summary.Check> c = s.checks();
        assertEquals(Boolean.FALSE, c.get(0).met(), c.get(0).toString()); // 3.00x, but the lower end 2.76 < 3
        assertEquals(Boolean.TRUE, c.get(1).met(), c.get(1).toString());  // visible p50 upper end 0.9 <= 1
        assertEquals(Boolean.FALSE, c.get(2).met());                       // visible p99 upper end 1.5 > 1
        assertEquals(Boolean.FALSE, c.get(3).met());                       // fetch p50 4.0-5.0 > 1
        assertEquals(Boolean.TRUE, c.get(4).met());                        // fetch p99 upper end 0.4 <= 0.5
        assertEquals(Boolean.TRUE, c.get(5).met());                        // commit rate lower end 0.91 >= 0.9
        assertEquals(Boolean.TRUE, c.get(6).met());                        // CPU 2.0 <= 0.5 x 9.0
        assertEquals(Boolean.TRUE, c.get(7).met());                        // RSS 130 <= 300
        String md = s.markdown();
        assertTrue(md.contains("| 1 | 300.0 [290.0-310.0] | 100.0 [95.0-105.0] | 3.00 ["), md);
        assertTrue(md.contains("**missed**") && md.contains(s.finalLine()), md);
    }

    @Test
    void missingFiguresSayNotAvailable() {
        Summary s = new Summary(new LinkedHashMap<>(Map.of("meta", m())), Options.parse(new String[] {"--smoke"}, Path.of("/r")));
        assertEquals("ingestion lakestream/kafka = n/a, visible p50 = n/a, p99 = n/a, fetch p50 = n/a, p99 = n/a, commit rate 100k/1k = n/a",
                s.finalLine());
    }
}
