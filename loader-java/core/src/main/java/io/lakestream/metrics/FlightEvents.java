package io.lakestream.metrics;

import java.util.function.Supplier;
import jdk.jfr.Event;
import jdk.jfr.EventType;

/** Timed JDK Flight Recorder events that cost nothing (no allocation) when no recording asks for them. */
public final class FlightEvents {
    private FlightEvents() {}

    /**
     * A new event of {@code type}, begun, or null when metrics are off or no recording enables
     * it; the caller ends and commits a non-null one. {@code make} should not capture anything,
     * so the call allocates nothing in the null case.
     */
    public static <E extends Event> E begin(EventType type, Supplier<E> make) {
        if (!Metrics.ENABLED || !type.isEnabled()) {
            return null;
        }
        E e = make.get();
        e.begin();
        return e;
    }
}
