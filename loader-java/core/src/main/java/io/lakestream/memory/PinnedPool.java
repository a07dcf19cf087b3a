package io.lakestream.memory;

import io.lakestream.time.Clock;
import io.lakestream.time.ParkingCondition;
import io.lakestream.time.Threads;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded pool of off-heap slabs, each allocated once from its own long-lived arena, pinned
 * once, and reused for the life of the pool. The pool owns every slab; a {@link Lease} lends one
 * slab to one batch. Memory handed out through a <em>checked</em> lease (the default) is a view
 * scoped to the lease: after {@link Lease#close()} any access through it throws
 * {@link IllegalStateException} instead of reading a slab that already holds another batch. That
 * check has a price: closing the lease's shared arena is a handshake with every thread of the
 * JVM. An <em>unchecked</em> lease ({@link #tryAcquire(long, long, boolean)}) hands out the
 * slab's own memory; for owners whose users never see a Java view (the Python binding hands out
 * raw addresses, which no Java scope can guard) or who vouch for their own lifetimes.
 *
 * <p>Java's scope check cannot see a device copy queued from the slab (e.g. a CUDA
 * {@code cudaMemcpyAsync} that runs later): a lease released with {@link Lease#closeAfter(Fence)}
 * keeps its slab out of the pool until the fence says that work has run.
 */
public final class PinnedPool implements AutoCloseable {
    private static final long ALIGN = 1L << 20;
    private static final long SLAB_ALIGNMENT = 4096;
    private static final long FENCE_POLL_NANOS = 200_000; // how often an exhausted pool re-checks fences
    private static final System.Logger LOG = System.getLogger(PinnedPool.class.getName());

    private final long minSlabBytes;
    private final int maxSlabs;
    private final Pinner pinner;
    // Waits, signals and deadlines go through the stream's environment, so a deterministic
    // simulation schedules a reader waiting for a slab like any other wait.
    private final Threads threads;
    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = ParkingCondition.of(lock);
    /** Free slabs, the most recently released last; indexed loops, no iterator per acquire. */
    private final List<Slab> free = new ArrayList<>();
    private final ArrayDeque<Fenced> fenced = new ArrayDeque<>(); // released, waiting for their fence
    private final List<Slab> all = new ArrayList<>();
    private boolean closed;
    private long leases;

    private static final class Slab {
        final Arena arena;
        final MemorySegment memory;
        final Pinner.Mode mode;

        Slab(Arena arena, MemorySegment memory, Pinner.Mode mode) {
            this.arena = arena;
            this.memory = memory;
            this.mode = mode;
        }
    }

    private record Fenced(Slab slab, Fence fence) {}

    /**
     * @param minSlabBytes smallest slab allocated (slabs grow to fit a larger request, rounded up to 1 MiB)
     * @param maxSlabs     most slabs alive at once; {@link #acquire} waits beyond that
     */
    public PinnedPool(long minSlabBytes, int maxSlabs, Pinner pinner) {
        this(minSlabBytes, maxSlabs, pinner, Threads.platform(), Clock.system());
    }

    /** As {@link #PinnedPool(long, int, Pinner)}, waiting through {@code threads} on {@code clock}'s time. */
    public PinnedPool(long minSlabBytes, int maxSlabs, Pinner pinner, Threads threads, Clock clock) {
        if (minSlabBytes <= 0 || maxSlabs <= 0) {
            throw new IllegalArgumentException("pool needs positive slab size and count");
        }
        this.minSlabBytes = minSlabBytes;
        this.maxSlabs = maxSlabs;
        this.pinner = pinner;
        this.threads = threads;
        this.clock = clock;
    }

    /**
     * Lends a slab of at least {@code bytes}, waiting up to {@code timeoutMillis} for one to be
     * released when the pool is at its bound.
     */
    public Lease acquire(long bytes, long timeoutMillis) throws InterruptedException {
        Lease l = tryAcquire(bytes, timeoutMillis);
        if (l == null) {
            int waiting = fencedCount();
            throw new IllegalStateException("pinned pool exhausted: all " + maxSlabs + " slabs are lent out "
                    + "(batches not closed, or prefetch deeper than the pool)"
                    + (waiting == 0 ? "" : "; " + waiting + " of them wait for device copies queued from them"));
        }
        return l;
    }

    /** Slabs released by their batches but still waiting for device copies queued from them. */
    public int fencedCount() {
        threads.lock(lock);
        try {
            return fenced.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * As {@link #acquire}, but returns null when no slab was released within {@code timeoutMillis}
     * (a caller that waits on, and can tell its users why, loops on this).
     *
     * @throws IllegalStateException if the pool is closed
     */
    public Lease tryAcquire(long bytes, long timeoutMillis) throws InterruptedException {
        return tryAcquire(bytes, timeoutMillis, true);
    }

    /**
     * As {@link #tryAcquire(long, long)}; {@code checked} false lends an unchecked lease: its
     * {@link Lease#segment()} is the slab's memory itself, so closing the lease costs no
     * handshake, and a view used after the close reads whatever the slab holds next.
     */
    public Lease tryAcquire(long bytes, long timeoutMillis, boolean checked) throws InterruptedException {
        long deadline = clock.monotonicNanos() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        threads.lock(lock);
        try {
            while (true) {
                if (closed) {
                    throw new IllegalStateException("pool is closed");
                }
                reapFences();
                int best = -1;
                for (int i = free.size() - 1; i >= 0; i--) { // the most recently released first: its pages are warm
                    long size = free.get(i).memory.byteSize();
                    if (size >= bytes && (best < 0 || size < free.get(best).memory.byteSize())) {
                        best = i;
                    }
                }
                if (best >= 0) {
                    return lend(free.remove(best), bytes, checked);
                }
                if (all.size() < maxSlabs) {
                    return lend(allocate(bytes), bytes, checked);
                }
                if (!free.isEmpty()) {
                    // At the bound with only smaller slabs free: replace one with a bigger slab.
                    Slab small = free.remove(free.size() - 1);
                    all.remove(small);
                    dispose(small);
                    return lend(allocate(bytes), bytes, checked);
                }
                long left = deadline - clock.monotonicNanos();
                if (left <= 0) {
                    return null;
                }
                // Fences complete on the device, not by a signal: poll them while some are pending.
                threads.await(lock, released, fenced.isEmpty() ? left : Math.min(left, FENCE_POLL_NANOS));
            }
        } finally {
            lock.unlock();
        }
    }

    private Slab allocate(long bytes) {
        // Whole pages: mlock/munlock act on pages, so a slab must not share one with its neighbours.
        long size = roundUp(Math.max(minSlabBytes, roundUp(bytes, ALIGN)), SLAB_ALIGNMENT);
        Arena arena = Arena.ofShared();
        MemorySegment mem = arena.allocate(size, SLAB_ALIGNMENT);
        Slab s = new Slab(arena, mem, pinner.pin(mem));
        all.add(s);
        return s;
    }

    private static long roundUp(long n, long unit) {
        return (n + unit - 1) / unit * unit;
    }

    private void dispose(Slab s) {
        pinner.unpin(s.memory, s.mode);
        s.arena.close();
    }

    private Lease lend(Slab s, long bytes, boolean checked) {
        leases++;
        PoolMetrics.lent();
        return new Lease(this, s, bytes, checked);
    }

    /** Moves slabs whose fence is done back to the free list. Holds the lock. */
    private void reapFences() {
        if (fenced.isEmpty()) {
            return; // the common case, without an iterator
        }
        for (var it = fenced.iterator(); it.hasNext(); ) {
            Fenced f = it.next();
            boolean done;
            try {
                done = f.fence.isDone();
            } catch (RuntimeException e) {
                // The device cannot say whether a copy still reads the slab: never lend or free it
                // again (it leaks); the pool may allocate a replacement.
                it.remove();
                all.remove(f.slab);
                LOG.log(System.Logger.Level.WARNING, "dropping a pool slab whose device fence failed: " + e.getMessage());
                continue;
            }
            if (done) {
                it.remove();
                f.fence.close();
                free.add(f.slab);
            }
        }
    }

    void giveBackAfter(Slab s, Fence fence) {
        PoolMetrics.released();
        threads.lock(lock);
        try {
            if (closed) {
                fence.await();
                fence.close();
                dispose(s);
                return;
            }
            fenced.add(new Fenced(s, fence));
            threads.signalAll(released); // a waiter polls the fence from now on
        } finally {
            lock.unlock();
        }
    }

    /** Released slabs still waiting for their fence (device copies queued from them). */
    public int fencedSlabs() {
        threads.lock(lock);
        try {
            return fenced.size();
        } finally {
            lock.unlock();
        }
    }

    void giveBack(Slab s) {
        PoolMetrics.released();
        threads.lock(lock);
        try {
            if (closed) {
                dispose(s);
                return;
            }
            free.add(s);
            threads.signalAll(released);
        } finally {
            lock.unlock();
        }
    }

    /** The most slabs alive at once. */
    public int maxSlabs() {
        return maxSlabs;
    }

    /** Slabs allocated so far (alive). */
    public int slabCount() {
        threads.lock(lock);
        try {
            return all.size();
        } finally {
            lock.unlock();
        }
    }

    public long totalLeases() {
        threads.lock(lock);
        try {
            return leases;
        } finally {
            lock.unlock();
        }
    }

    /** The pin mode of the slabs (the first slab's; all slabs get the same pinner). */
    public Pinner.Mode pinMode() {
        threads.lock(lock);
        try {
            return all.isEmpty() ? null : all.get(0).mode;
        } finally {
            lock.unlock();
        }
    }

    /** Frees free slabs now; lent slabs are freed when their lease closes. */
    @Override
    public void close() {
        threads.lock(lock);
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (Slab s : free) {
                all.remove(s);
                dispose(s);
            }
            free.clear();
            for (Fenced f : fenced) { // a queued copy may still read these: wait for it first
                all.remove(f.slab);
                f.fence.await();
                f.fence.close();
                dispose(f.slab);
            }
            fenced.clear();
            threads.signalAll(released);
        } finally {
            lock.unlock();
        }
    }

    /** One slab lent to one batch. Close exactly once; views die with it. */
    public static final class Lease implements AutoCloseable {
        private final PinnedPool pool;
        private final Slab slab;
        /** Null for an unchecked lease. */
        private final Arena scope;
        private final MemorySegment view;
        private boolean closed;

        Lease(PinnedPool pool, Slab slab, long bytes, boolean checked) {
            this.pool = pool;
            this.slab = slab;
            this.scope = checked ? Arena.ofShared() : null;
            // A checked view has the lease's lifetime: closing the scope invalidates every slice of it.
            this.view = checked ? slab.memory.asSlice(0, bytes).reinterpret(bytes, scope, null) : slab.memory.asSlice(0, bytes);
        }

        /** The lent memory, valid until {@link #close()}. */
        public MemorySegment segment() {
            return view;
        }

        public Pinner.Mode pinMode() {
            return slab.mode;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            // Throws IllegalStateException while a native call or NIO operation still holds the
            // memory; the lease then stays open (and its slab out of the pool) so it can be retried.
            if (scope != null) {
                scope.close();
            }
            closed = true;
            pool.giveBack(slab);
        }

        /**
         * Releases the slab, but lends it again only after {@code fence} is done: for memory a
         * device copy may still read (an asynchronous CUDA copy queued from it). Java views die at
         * once, as with {@link #close()}. {@code null}: same as {@link #close()}.
         *
         * @throws IllegalStateException if the lease was already closed (its slab may already hold
         *                               another batch: the fence comes too late)
         */
        public synchronized void closeAfter(Fence fence) {
            if (fence == null) {
                close();
                return;
            }
            if (closed) {
                fence.close();
                throw new IllegalStateException("lease already released: a device copy queued from it may have read "
                        + "another batch's bytes; release with the fence instead of closing first");
            }
            try {
                if (scope != null) {
                    scope.close();
                }
            } catch (IllegalStateException busy) {
                fence.close();
                throw busy;
            }
            closed = true;
            pool.giveBackAfter(slab, fence);
        }

        /** Whether views of this lease die with it ({@link PinnedPool#tryAcquire(long, long, boolean)}). */
        public boolean checked() {
            return scope != null;
        }

        public synchronized boolean isClosed() {
            return closed;
        }
    }
}
