package io.lakestream.log;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An immutable list that later states of the log extend without copying it (issue 23): each
 * {@link ManifestState#apply} added its version's entries to a copy of the whole tail, up to
 * {@code index_segment_steps} entries per commit. Lists made by {@link #append} share one backing
 * array; a list is the first {@code size} slots of it. Appending to the list that ends where the
 * array is filled writes the next slots (each list only reads below its size, so it never sees
 * them) and claims them first, so that of two appends to the same list (a commit's state that
 * lost the race, then the state that won) one writes in place and the other copies.
 *
 * <p>Publication is as for any list held by a state: the slots are written before the new list
 * (and its state) is handed to other threads.
 */
final class SharedTail<E> extends AbstractList<E> implements RandomAccess {
    private final Slots slots;
    private final int size;

    private static final class Slots {
        final Object[] array;
        /** Slots written (and claimed) so far: the size of the longest list on this array. */
        final AtomicInteger filled;

        Slots(Object[] array, int filled) {
            this.array = array;
            this.filled = new AtomicInteger(filled);
        }
    }

    private SharedTail(Slots slots, int size) {
        this.slots = slots;
        this.size = size;
    }

    /** {@code base} followed by {@code more}: in place on a shared array when {@code base} ends where it is filled. */
    static <E> List<E> append(List<E> base, List<? extends E> more) {
        int k = more.size();
        if (k == 0) {
            return base;
        }
        int n = base.size();
        if (base instanceof SharedTail<E> t && n + k <= t.slots.array.length && t.slots.filled.compareAndSet(n, n + k)) {
            Object[] a = t.slots.array;
            for (int i = 0; i < k; i++) {
                a[n + i] = more.get(i);
            }
            return new SharedTail<>(t.slots, n + k);
        }
        // a new array, with room for as many appends again (a tail grows to a segment, then is cut by a snapshot)
        Object[] a = new Object[Math.max(16, 2 * (n + k))];
        for (int i = 0; i < n; i++) {
            a[i] = base.get(i);
        }
        for (int i = 0; i < k; i++) {
            a[n + i] = more.get(i);
        }
        return new SharedTail<>(new Slots(a, n + k), n + k);
    }

    @Override
    @SuppressWarnings("unchecked")
    public E get(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("index " + i + " of a tail of " + size);
        }
        return (E) slots.array[i];
    }

    @Override
    public int size() {
        return size;
    }
}
