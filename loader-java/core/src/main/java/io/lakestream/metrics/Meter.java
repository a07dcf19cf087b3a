package io.lakestream.metrics;

import java.util.List;

/**
 * One time series family member of a {@link Metrics} registry: a name in Prometheus conventions
 * ({@code lakestream_<area>_<what>_<unit>}, counters ending in {@code _total}), a help line, and
 * fixed label pairs chosen at registration (never per observation: labels must not allocate on
 * the hot path).
 */
public sealed interface Meter permits Counter, Gauge, Histogram {
    MeterId id();

    default String name() {
        return id().name();
    }

    default String help() {
        return id().help();
    }

    /** Label names and values, alternating, in registration order. */
    default List<String> labels() {
        return id().labels();
    }

    /** The Prometheus type: counter, gauge or histogram. */
    String type();
}
