package io.lakestream.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * A monotonic count. Backed by a {@link LongAdder}: lock-free, and its striped cells are padded
 * against false sharing, so fetch threads counting at once do not bounce one cache line; an
 * increment allocates nothing once a cell exists.
 */
public final class Counter implements Meter {
    private final MeterId id;
    private final LongAdder value = new LongAdder();

    Counter(MeterId id) {
        this.id = id;
    }

    public void inc() {
        value.increment();
    }

    /** Adds {@code n} (not negative: a counter never goes down). */
    public void add(long n) {
        value.add(n);
    }

    public long value() {
        return value.sum();
    }

    @Override
    public MeterId id() {
        return id;
    }

    @Override
    public String type() {
        return "counter";
    }
}
