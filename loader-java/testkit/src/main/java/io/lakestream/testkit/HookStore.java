package io.lakestream.testkit;

import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
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
    public interface SyncHook { void around(Collection<String> keys); }
    public interface PublishHook { void before(String key, MemorySegment data); }

    private final ObjectStore inner;
    public volatile GetHook getHook = k -> {};
    public volatile PutHook putIfAbsentHook = k -> false;
    public volatile ListHook listHook = (p, a, l) -> {};
    /** Runs after a conditional write returned (created or not). */
    public volatile AfterHook afterPutIfAbsent = k -> {};
    /** Runs before a directory sync of names (a throw fails it, as the store's failure would). */
    public volatile SyncHook beforeSyncNames = k -> {};
    /** Runs after a directory sync of names returned. */
    public volatile SyncHook afterSyncNames = k -> {};
    /** Runs after the caller's {@code beforePublish} barrier returned, just before the store may publish the object. */
    public volatile PublishHook beforePublish = (k, d) -> {};

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
    @Override public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        return putIfAbsent(key, data, syncName, () -> { });
    }
    /** Forwarded with the caller's barrier (so file:// runs it between its fdatasync and link), then {@link #beforePublish}. */
    @Override public boolean putIfAbsent(String key, MemorySegment data, boolean syncName, Runnable barrier) {
        if (putIfAbsentHook.failBefore(key)) {
            throw new io.lakestream.store.StoreException("hook: conditional write of " + key + " timed out (outcome unknown)", key);
        }
        boolean created = inner.putIfAbsent(key, data, syncName, () -> {
            barrier.run();
            beforePublish.before(key, data);
        });
        afterPutIfAbsent.after(key);
        return created;
    }
    @Override public void syncNames(Collection<String> keys) {
        beforeSyncNames.around(keys);
        inner.syncNames(keys);
        afterSyncNames.around(keys);
    }
    @Override public Optional<ObjectInfo> stat(String key) { return inner.stat(key); }
    @Override public void delete(String key) { inner.delete(key); }
    @Override public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        listHook.before(prefix, startAfter, limit);
        return inner.list(prefix, startAfter, limit);
    }
    @Override public void close() { inner.close(); }
}
