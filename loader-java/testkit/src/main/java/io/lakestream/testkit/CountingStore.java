package io.lakestream.testkit;

import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** Counts calls, to assert O(1)-in-history behaviour (e.g. how many versions an open reads). */
public final class CountingStore implements ObjectStore {
    private final ObjectStore inner;
    public final AtomicLong gets = new AtomicLong();
    public final AtomicLong lists = new AtomicLong();
    public final AtomicLong puts = new AtomicLong();
    /** Ranged reads (also counted in {@link #gets}): what a rank reader issues per step. */
    public final AtomicLong rangedReads = new AtomicLong();

    public CountingStore(ObjectStore inner) {
        this.inner = inner;
    }

    public void reset() {
        gets.set(0);
        lists.set(0);
        puts.set(0);
        rangedReads.set(0);
    }

    @Override public String describe() { return inner.describe(); }
    @Override public byte[] get(String key) { gets.incrementAndGet(); return inner.get(key); }
    @Override public void readRange(String key, long offset, MemorySegment dst) {
        gets.incrementAndGet();
        rangedReads.incrementAndGet();
        inner.readRange(key, offset, dst);
    }
    @Override public void put(String key, byte[] data) { puts.incrementAndGet(); inner.put(key, data); }
    @Override public boolean putIfAbsent(String key, byte[] data) { puts.incrementAndGet(); return inner.putIfAbsent(key, data); }
    @Override public Optional<ObjectInfo> stat(String key) { return inner.stat(key); }
    @Override public void delete(String key) { inner.delete(key); }
    @Override public List<ObjectInfo> list(String prefix, String startAfter, int limit) { lists.incrementAndGet(); return inner.list(prefix, startAfter, limit); }
    @Override public void close() { inner.close(); }
}
