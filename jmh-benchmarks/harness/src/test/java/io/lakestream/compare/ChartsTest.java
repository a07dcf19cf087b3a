package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.data.xy.XYSeriesCollection;
import org.junit.jupiter.api.Test;

/** The CDF plots take their points from a run in memory and from its JSON alike. */
class ChartsTest {
    @Test
    void cdfPointsComeFromTheRunsArraysAndFromItsJson() {
        Map<String, Object> section = new LinkedHashMap<>();
        // as Compare.pooled leaves it before the JSON is written: Latencies.cdf's double[][]
        section.put("file", Map.of("cdf", new Latencies(new long[] {1_000_000, 2_000_000, 3_000_000}).cdf(200)));
        // as the JSON reads back: lists of [ms, fraction]
        section.put("kafka-flush", Map.of("cdf", List.of(List.of(1.5, 0.5), List.of(4.0, 1.0))));
        XYSeriesCollection c = Charts.cdfSeries(section);
        assertEquals(2, c.getSeriesCount());
        assertEquals(3, c.getSeries(0).getItemCount(), "every point of the in-memory CDF is plotted");
        assertEquals(3.0, c.getSeries(0).getX(2).doubleValue(), 1e-9);
        assertEquals(1.0, c.getSeries(0).getY(2).doubleValue(), 1e-9);
        assertEquals(2, c.getSeries(1).getItemCount());
        assertEquals(4.0, c.getSeries(1).getX(1).doubleValue(), 1e-9);
    }
}
