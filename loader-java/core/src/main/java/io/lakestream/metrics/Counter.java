package io.lakestream.metrics;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A monotonic count. Backed by a {@link LongAdder}: lock-free, and its striped cells are padded
 * against false sharing, so fetch threads counting at once do not bounce one cache line; an
 * increment allocates nothing once a cell exists.
 */
public final class Counter implements Meter {
    private final String name;
    private final String help;
    private final List<String> labels;
    private final LongAdder value = new LongAdder();

    Counter(String name, String help, List<String> labels) {
        this.name = name;
        this.help = help;
        this.labels = labels;
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
        return "counter";
    }
}
