package io.lakestream.store.s3;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Gives up on the direct path after {@code failuresToGiveUp} failures in a row: a server or a
 * network the hand-written client does not get along with should cost a few fallbacks, not one
 * per read forever. A success resets the count; once off it stays off for the store's life (the
 * SDK path still works, and a flapping switch would log and retry without end).
 *
 * <p>Shared by every reading thread: each failure is counted exactly once (an atomic increment),
 * and exactly one of the failures that reach the threshold reports the switch-over, so it is
 * logged once.
 */
final class FallbackSwitch {
    private final int failuresToGiveUp;
    private final AtomicInteger failuresInARow = new AtomicInteger();
    private final AtomicBoolean off = new AtomicBoolean();

    FallbackSwitch(int failuresToGiveUp) {
        if (failuresToGiveUp < 1) {
            throw new IllegalArgumentException("failuresToGiveUp must be at least 1: " + failuresToGiveUp);
        }
        this.failuresToGiveUp = failuresToGiveUp;
    }

    /** Whether the direct path is still to be tried. */
    boolean on() {
        return !off.get();
    }

    /** A direct read worked: the failures so far were not in a row. */
    void succeeded() {
        failuresInARow.set(0);
    }

    /** Counts one failure; true only for the call that switched the direct path off. */
    boolean failed() {
        return failuresInARow.incrementAndGet() >= failuresToGiveUp && off.compareAndSet(false, true);
    }

    int failuresInARow() {
        return failuresInARow.get();
    }

    int failuresToGiveUp() {
        return failuresToGiveUp;
    }
}
