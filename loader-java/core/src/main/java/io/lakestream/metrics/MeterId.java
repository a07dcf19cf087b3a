package io.lakestream.metrics;

import java.util.List;

/**
 * What identifies a {@link Meter} in its registry and in the exposition: a name in Prometheus
 * conventions, a help line, and fixed label pairs (names and values alternating, in registration
 * order).
 */
public record MeterId(String name, String help, List<String> labels) {
    public MeterId {
        labels = List.copyOf(labels);
    }
}
