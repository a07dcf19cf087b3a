package io.lakestream.testkit;

import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A pass-through store that runs a test's code before chosen operations, to force an exact
 * interleaving (e.g. GC between two pages of a listing, a stall inside a commit's read-back).
 */
public final class HookStore implements ObjectStore {
    public interface GetHook { void before(String key); }
    public interface PutHook { boolean failBefore(String key); }
    public interface ListHook { void before(String prefix, String startAfter, int limit); }
    public interface AfterHook { void after(String key); }

    private final ObjectStore inner;
    public volatile GetHook getHook = k -> {};
    public volatile PutHook putIfAbsentHook = k -> false;
    public volatile ListHook listHook = (p, a, l) -> {};
    /** Runs after a conditional write returned (created or not). */
    public volatile AfterHook afterPutIfAbsent = k -> {};

    public HookStore(ObjectStore inner) { this.inner = inner; }

    @Override public String describe() { return inner.describe(); }
    @Override public byte[] get(String key) { getHook.before(key); return inner.get(key); }
    @Override public Optional<byte[]> getIfPresent(String key) { getHook.before(key); return inner.getIfPresent(key); }
    @Override public void readRange(String key, long offset, MemorySegment dst) { inner.readRange(key, offset, dst); }
    @Override public void put(String key, byte[] data) { inner.put(key, data); }
    @Override public boolean putIfAbsent(String key, byte[] data) {
        if (putIfAbsentHook.failBefore(key)) {
            throw new io.lakestream.store.StoreException("hook: conditional write of " + key + " timed out (outcome unknown)", key);
        }
        boolean created = inner.putIfAbsent(key, data);
        afterPutIfAbsent.after(key);
        return created;
    }
    @Override public Optional<ObjectInfo> stat(String key) { return inner.stat(key); }
    @Override public void delete(String key) { inner.delete(key); }
    @Override public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        listHook.before(prefix, startAfter, limit);
        return inner.list(prefix, startAfter, limit);
    }
    @Override public void close() { inner.close(); }
}
