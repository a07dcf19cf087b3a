package io.lakestream.reader;

import java.util.Arrays;
import java.util.List;

/**
 * The steps a reader's consumer holds (delivered, not closed): a few at most, as each holds a
 * pool slab. A small array, so delivering and closing a step allocate nothing.
 */
final class HeldSteps {
    private long[] steps = new long[8];
    private int count;

    synchronized void add(long step) {
        if (count == steps.length) {
            steps = Arrays.copyOf(steps, 2 * count);
        }
        steps[count++] = step;
    }

    synchronized void remove(long step) {
        for (int i = 0; i < count; i++) {
            if (steps[i] == step) {
                steps[i] = steps[--count];
                return;
            }
        }
    }

    synchronized int count() {
        return count;
    }

    /** The held steps in ascending order. */
    synchronized List<Long> list() {
        long[] copy = Arrays.copyOf(steps, count);
        Arrays.sort(copy);
        return Arrays.stream(copy).boxed().toList();
    }
}
