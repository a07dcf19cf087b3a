package io.lakestream.store;

/**
 * A byte buffer that whole objects are read into and parsed from, reused by its one owner
 * ({@link ObjectStore#getIfPresent(String, ReadBuffer)}): a reader catching up through the
 * history reads a 300 KB index segment per 1,024 steps, and a fresh array per segment was a
 * quarter of its garbage per step (issue 23). Not thread-safe. It keeps the capacity of the
 * largest object read.
 */
public final class ReadBuffer {
    private byte[] buf;
    private int length;

    public ReadBuffer(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    /** The bytes read: {@code [0, length())} of this array (the rest is stale). Valid until the next read into it. */
    public byte[] array() {
        return buf;
    }

    public int length() {
        return length;
    }

    /**
     * Makes it hold {@code n} bytes for a store to fill: returns the array whose {@code [0, n)}
     * the store then writes (grown if needed, old content not kept).
     */
    public byte[] fill(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative length " + n);
        }
        if (buf.length < n) {
            buf = new byte[Math.max(n, (int) Math.min(Integer.MAX_VALUE - 8, 2L * buf.length))];
        }
        length = n;
        return buf;
    }
}
