package io.lakestream.format;

import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A growable byte buffer that JSON documents are written into, reused by its one owner (a
 * manifest log for its versions, a snapshot writer for its snapshots and segments): the mapper's
 * own {@code writeValueAsBytes} builds every document in fresh chunks and copies them into the
 * result, twice the document in garbage (issue 23). Not thread-safe; the owner serialises its use.
 * It keeps the capacity of the largest document written.
 */
public final class JsonBuffer extends OutputStream {
    private byte[] buf;
    private int len;
    /** {@code buf} as a segment, made again only when it grows. */
    private MemorySegment whole;

    public JsonBuffer(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    /** Empties it (the capacity stays). */
    public void reset() {
        len = 0;
    }

    /** Bytes written since the last {@link #reset}. */
    public int length() {
        return len;
    }

    /**
     * The bytes written since the last {@link #reset}, as a view of this buffer (no copy): valid
     * until the buffer is written again. For a store write that is done with the memory when it
     * returns ({@link io.lakestream.store.ObjectStore#putIfAbsent(String, MemorySegment, boolean)}).
     */
    public MemorySegment segment() {
        if (whole == null || whole.byteSize() != buf.length) {
            whole = MemorySegment.ofArray(buf);
        }
        return whole.asSlice(0, len);
    }

    /** A copy of the bytes written since the last {@link #reset}, exactly as long. */
    public byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    @Override
    public void write(int b) {
        ensure(1);
        buf[len++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int n) {
        ensure(n);
        System.arraycopy(b, off, buf, len, n);
        len += n;
    }

    private void ensure(int n) {
        if (buf.length - len < n) {
            long want = Math.max((long) len + n, 2L * buf.length);
            buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 8, want));
            if (buf.length - len < n) {
                throw new OutOfMemoryError("a JSON document of over 2 GiB");
            }
        }
    }
}
