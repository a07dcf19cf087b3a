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
    /** GETs (whole or ranged, also counted in {@link #gets}) of batch objects ({@code data/…}): what lineage's find reads. */
    public final AtomicLong batchObjectGets = new AtomicLong();
    /** The distinct batch objects read since the last {@link #reset}. */
    public final java.util.Set<String> batchObjectsRead = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public CountingStore(ObjectStore inner) {
        this.inner = inner;
    }

    public void reset() {
        gets.set(0);
        lists.set(0);
        puts.set(0);
        rangedReads.set(0);
        batchObjectGets.set(0);
        batchObjectsRead.clear();
    }

    private void countData(String key) {
        if (key.startsWith(io.lakestream.log.StreamLayout.DATA_PREFIX)) {
            batchObjectGets.incrementAndGet();
            batchObjectsRead.add(key);
        }
    }

    @Override public String describe() { return inner.describe(); }
    @Override public byte[] get(String key) { gets.incrementAndGet(); countData(key); return inner.get(key); }
    @Override public void readRange(String key, long offset, MemorySegment dst) {
        gets.incrementAndGet();
        countData(key);
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
