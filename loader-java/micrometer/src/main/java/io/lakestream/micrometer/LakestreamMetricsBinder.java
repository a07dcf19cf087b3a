package io.lakestream.micrometer;

import io.lakestream.metrics.Counter;
import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Histogram;
import io.lakestream.metrics.Meter;
import io.lakestream.metrics.Metrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Shows a Lakestream {@link Metrics} registry (by default the process's, where Lakestream records)
 * in a Micrometer {@link MeterRegistry}. Nothing is copied: each Micrometer meter reads the
 * Lakestream one when the registry publishes, so recording stays Lakestream's lock-free path.
 * Meters Lakestream registers later are bound when they appear.
 *
 * <p>Names are given in Micrometer's dotted form without the unit suffixes its registries add
 * themselves, so a Prometheus registry writes the same names as {@code ./lakestream --metrics-port}:
 * {@code lakestream_reader_bytes_total} is bound as counter {@code lakestream.reader.bytes},
 * {@code lakestream_producer_commit_seconds} as timer {@code lakestream.producer.commit}
 * (its count and total time; the buckets stay in the Prometheus text of the core).
 * <pre>{@code
 * new LakestreamMetricsBinder().bindTo(meterRegistry);
 * }</pre>
 */
public final class LakestreamMetricsBinder implements MeterBinder {
    private final Metrics source;

    /** Binds {@link Metrics#global()}. */
    public LakestreamMetricsBinder() {
        this(Metrics.global());
    }

    public LakestreamMetricsBinder(Metrics source) {
        this.source = source;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        source.subscribe(m -> bind(m, registry));
    }

    private static void bind(Meter m, MeterRegistry registry) {
        List<Tag> tags = tags(m.labels());
        switch (m) {
            case Counter c -> FunctionCounter.builder(micrometerName(m), c, Counter::value)
                    .description(m.help()).tags(tags).register(registry);
            case Gauge g -> io.micrometer.core.instrument.Gauge.builder(micrometerName(m), g, Gauge::value)
                    .description(m.help()).tags(tags).register(registry);
            case Histogram h -> FunctionTimer.builder(micrometerName(m), h, Histogram::count, Histogram::sumSeconds, TimeUnit.SECONDS)
                    .description(m.help()).tags(tags).register(registry);
        }
    }

    /** {@code lakestream_x_total} → {@code lakestream.x} (counter), {@code lakestream_y_seconds} → {@code lakestream.y} (timer). */
    static String micrometerName(Meter m) {
        String n = m.name();
        if (m instanceof Counter && n.endsWith("_total")) {
            n = n.substring(0, n.length() - "_total".length());
        } else if (m instanceof Histogram && n.endsWith("_seconds")) {
            n = n.substring(0, n.length() - "_seconds".length());
        }
        return n.replace('_', '.');
    }

    private static List<Tag> tags(List<String> labels) {
        List<Tag> tags = new ArrayList<>(labels.size() / 2);
        for (int i = 0; i < labels.size(); i += 2) {
            tags.add(Tag.of(labels.get(i), labels.get(i + 1)));
        }
        return tags;
    }
}
