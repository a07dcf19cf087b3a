package io.lakestream.metrics;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/**
 * A value that goes up and down: either set by the code that knows it ({@link #set}, {@link #add};
 * one atomic long, no allocation) or computed when read ({@link Metrics#gauge(String, String,
 * DoubleSupplier, String...)}), for values derived from others such as the data-stall share.
 */
public final class Gauge implements Meter {
    private final String name;
    private final String help;
    private final List<String> labels;
    private final AtomicLong value = new AtomicLong();
    private final DoubleSupplier computed; // null: the settable value

    Gauge(String name, String help, List<String> labels, DoubleSupplier computed) {
        this.name = name;
        this.help = help;
        this.labels = labels;
        this.computed = computed;
    }

    /** @throws UnsupportedOperationException on a computed gauge */
    public void set(long v) {
        settable();
        value.set(v);
    }

    /** @throws UnsupportedOperationException on a computed gauge */
    public void add(long delta) {
        settable();
        value.addAndGet(delta);
    }

    private void settable() {
        if (computed != null) {
            throw new UnsupportedOperationException("gauge " + name + " is computed when read; it cannot be set");
        }
    }

    public double value() {
        return computed == null ? value.get() : computed.getAsDouble();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String help() {
        return help;
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public String type() {
        return "gauge";
    }
}
