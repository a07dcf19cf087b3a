package io.lakestream.metrics;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/**
 * A value that goes up and down: either set by the code that knows it ({@link #set}, {@link #add};
 * one atomic long, no allocation) or computed when read ({@link Metrics#gauge(String, String,
 * DoubleSupplier, String...)}), for values derived from others such as the data-stall share.
 */
public final class Gauge implements Meter {
    private final MeterId id;
    private final AtomicLong value = new AtomicLong();
    private final DoubleSupplier computed; // null: the settable value

    Gauge(MeterId id, DoubleSupplier computed) {
        this.id = id;
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
            throw new UnsupportedOperationException("gauge " + id.name() + " is computed when read; it cannot be set");
        }
    }

    public double value() {
        return computed == null ? value.get() : computed.getAsDouble();
    }

    @Override
    public MeterId id() {
        return id;
    }

    @Override
    public String type() {
        return "gauge";
    }
}
