package io.lakestream.producer;

import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

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
            memory = arena.allocate(cap, 4096); // page-aligned: the file store can write it with direct I/O
        }

        private void free() {
            if (arena != null) {
                arena.close();
                arena = null;
                memory = null;
            }
        }
    }

    private final Threads threads;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = ParkingCondition.of(lock);
    // guarded by lock
    private final ArrayDeque<Buffer> free = new ArrayDeque<>();
    private final Buffer[] all;
    private boolean closed;

    EncodeBuffers(int count, Threads threads) {
        this.threads = threads;
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
    Buffer acquire(long size) throws InterruptedException {
        Buffer b;
        threads.lock(lock);
        try {
            while (free.isEmpty()) {
                if (closed) {
                    throw new IllegalStateException("encode buffers are closed");
                }
                threads.await(lock, released, Threads.millis(50));
            }
            b = free.poll();
        } finally {
            lock.unlock();
        }
        b.ensure(size); // the buffer is ours alone now
        return b;
    }

    void release(Buffer b) {
        lock.lock();
        try {
            if (closed) {
                b.free();
                return;
            }
            free.add(b);
            threads.signalAll(released);
        } finally {
            lock.unlock();
        }
    }

    /** Frees the buffers not in use now; one still being written is freed when released. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (Buffer b : free) {
                b.free();
            }
            free.clear();
            threads.signalAll(released);
        } finally {
            lock.unlock();
        }
    }
}
