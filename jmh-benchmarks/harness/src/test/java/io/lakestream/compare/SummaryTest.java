package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The headline line and the target checks are computed from the results map, as a reader of the JSON would. */
class SummaryTest {
    private static Map<String, Object> m(Object... kv) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            out.put((String) kv[i], kv[i + 1]);
        }
        return out;
    }

    private static Map<String, Object> results() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("meta", m("date", "d", "cores", 2, "jdk", "25", "load_start", "1", "load_end", "1", "wall_s", 1.0));
        r.put("ingest", m(
                "file", m("1", m("mb_per_s", 300.0, "client_peak_rss_mb", 300.0), "2", m("mb_per_s", 250.0)),
                "kafka", m("1", m("mb_per_s", 100.0), "2", m("mb_per_s", 125.0))));
        r.put("latency", m("file", m("latency", m("p99_ms", 10.0, "count", 5)), "kafka", m("latency", m("p99_ms", 20.0, "count", 5))));
        r.put("fetch", m("file", m("latency", m("p99_ms", 3.0, "count", 5)), "kafka", m("latency", m("p99_ms", 4.0, "count", 5))));
        r.put("growth", m("file", m("1000", m("commits_per_s", 200.0, "start_steps", 1000), "1000000",
                m("commits_per_s", 190.0, "start_steps", 1000000))));
        return r;
    }

    @Test
    void finalLineIsTheIssuesFormat() {
        Summary s = new Summary(results(), Options.parse(new String[] {"--quick"}, Path.of("/r")));
        assertEquals("ingestion lakestream/kafka = 3.00, visible p99 lakestream/kafka = 0.50, commit rate 1M/1k = 0.95", s.finalLine());
    }

    @Test
    void targetsAreMetOrMissedFromTheFigures() {
        Summary s = new Summary(results(), Options.parse(new String[] {"--quick"}, Path.of("/r")));
        List<Summary.Check> c = s.checks();
        assertEquals(Boolean.TRUE, c.get(0).met(), c.get(0).toString());   // 3.00x >= 2.5x
        assertEquals(Boolean.FALSE, c.get(1).met(), c.get(1).toString());  // 2 producers: 2.00x
        assertEquals(Boolean.TRUE, c.get(2).met());                        // visible p99 10 <= 20
        assertEquals(Boolean.FALSE, c.get(3).met());                       // fetch p99 3 > 0.5 x 4
        assertEquals(Boolean.TRUE, c.get(4).met());                        // 190 >= 0.9 x 200
        assertEquals(Boolean.FALSE, c.get(5).met());                       // 2 producers 250 < 300
        assertEquals(Boolean.FALSE, c.get(6).met());                       // RSS 300 > 256
        String md = s.markdown();
        assertTrue(md.contains("| 1 | 300.0 | 100.0 | 3.00 |"), md);
        assertTrue(md.contains("**missed**") && md.contains(s.finalLine()), md);
    }

    @Test
    void missingFiguresSayNotAvailable() {
        Summary s = new Summary(new LinkedHashMap<>(Map.of("meta", m())), Options.parse(new String[] {"--smoke"}, Path.of("/r")));
        assertEquals("ingestion lakestream/kafka = n/a, visible p99 lakestream/kafka = n/a, commit rate 1M/1k = n/a", s.finalLine());
    }
}
