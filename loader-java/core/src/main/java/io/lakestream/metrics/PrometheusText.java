package io.lakestream.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a registry in the Prometheus text exposition format (version 0.0.4): per family one
 * {@code # HELP} and one {@code # TYPE} line, then its series; a histogram as cumulative
 * {@code _bucket{le=…}} series, {@code _sum} and {@code _count}. Served at {@code /metrics} by
 * the CLI's {@code --metrics-port}.
 */
public final class PrometheusText {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private PrometheusText() {}

    public static String write(Metrics registry) {
        Map<String, java.util.List<Meter>> families = new LinkedHashMap<>();
        for (Meter m : registry.meters()) {
            families.computeIfAbsent(m.name(), k -> new java.util.ArrayList<>()).add(m);
        }
        StringBuilder b = new StringBuilder(4096);
        for (var f : families.entrySet()) {
            Meter first = f.getValue().get(0);
            b.append("# HELP ").append(f.getKey()).append(' ').append(escapeHelp(first.help())).append('\n');
            b.append("# TYPE ").append(f.getKey()).append(' ').append(first.type()).append('\n');
            for (Meter m : f.getValue()) {
                switch (m) {
                    case Counter c -> line(b, m.name(), labels(m.labels(), null, null), c.value());
                    case Gauge g -> line(b, m.name(), labels(m.labels(), null, null), g.value());
                    case Histogram h -> histogram(b, h);
                }
            }
        }
        return b.toString();
    }

    private static void histogram(StringBuilder b, Histogram h) {
        long[] counts = h.bucketCounts();
        long cumulative = 0;
        for (int i = 0; i < Histogram.FINITE; i++) {
            cumulative += counts[i];
            line(b, h.name() + "_bucket", labels(h.labels(), "le", Double.toString(Histogram.upperBoundSeconds(i))), cumulative);
        }
        cumulative += counts[Histogram.FINITE];
        line(b, h.name() + "_bucket", labels(h.labels(), "le", "+Inf"), cumulative);
        line(b, h.name() + "_sum", labels(h.labels(), null, null), h.sumSeconds());
        line(b, h.name() + "_count", labels(h.labels(), null, null), cumulative);
    }

    private static void line(StringBuilder b, String name, String labels, double v) {
        b.append(name).append(labels).append(' ');
        if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
            b.append((long) v);
        } else if (Double.isNaN(v)) {
            b.append("NaN");
        } else {
            b.append(v);
        }
        b.append('\n');
    }

    /** {@code {k="v",…}} with values escaped, plus one extra pair if {@code extraName} is given; empty for none. */
    static String labels(List<String> kv, String extraName, String extraValue) {
        if (kv.isEmpty() && extraName == null) {
            return "";
        }
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.size(); i += 2) {
            if (i > 0) {
                b.append(',');
            }
            b.append(kv.get(i)).append("=\"").append(escapeValue(kv.get(i + 1))).append('"');
        }
        if (extraName != null) {
            if (!kv.isEmpty()) {
                b.append(',');
            }
            b.append(extraName).append("=\"").append(escapeValue(extraValue)).append('"');
        }
        return b.append('}').toString();
    }

    private static String escapeValue(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static String escapeHelp(String v) {
        return v.replace("\\", "\\\\").replace("\n", "\\n");
    }
}
