package io.lakestream.producer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * The producer's off-heap encode buffers: a fixed number, reused batch after batch (so encoding
 * allocates no heap and no new native memory in steady state), each grown when a batch needs
 * more. The number bounds the encoded batches held in memory: {@link #acquire} waits while
 * every buffer is being written. Thread-safe (the appending thread acquires, writer threads
 * release).
 */
final class EncodeBuffers implements AutoCloseable {
    /** One reusable buffer. Its memory is shared: writer threads write it to the store. */
    static final class Buffer {
        private Arena arena;
        private MemorySegment memory;

        MemorySegment memory() {
            return memory;
        }

        private void ensure(long size) {
            if (memory != null && memory.byteSize() >= size) {
                return;
            }
            if (arena != null) {
                arena.close();
            }
            long cap = Math.max(64L << 10, size + size / 4); // headroom: shard sizes vary a little
            arena = Arena.ofShared();
            memory = arena.allocate(cap, 64);
        }

        private void free() {
            if (arena != null) {
                arena.close();
                arena = null;
                memory = null;
            }
        }
    }

    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private final Buffer[] all;
    private boolean closed;

    EncodeBuffers(int count) {
        all = new Buffer[Math.max(1, count)];
        for (int i = 0; i < all.length; i++) {
            all[i] = new Buffer();
            free.add(all[i]);
        }
    }

    int count() {
        return all.length;
    }

    /** A free buffer of at least {@code size} bytes, waiting while all are in use. */
    synchronized Buffer acquire(long size) throws InterruptedException {
        while (free.isEmpty()) {
            if (closed) {
                throw new IllegalStateException("encode buffers are closed");
            }
            wait();
        }
        Buffer b = free.poll();
        b.ensure(size);
        return b;
    }

    synchronized void release(Buffer b) {
        if (closed) {
            b.free();
            return;
        }
        free.add(b);
        notifyAll();
    }

    /** Frees the buffers not in use now; one still being written is freed when released. */
    @Override
    public synchronized void close() {
        closed = true;
        for (Buffer b : free) {
            b.free();
        }
        free.clear();
        notifyAll();
    }
}
