package io.lakestream.reader;

import io.lakestream.store.ChangeWatch;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A {@link SharedFollower}'s view of the store: the store of one of its subscribed readers,
 * switched to another's when that reader leaves (each reader's store may be closed right after
 * its reader). Reads only; it closes nothing (each reader closes its own store).
 */
final class SwitchingStore implements ObjectStore {
    private volatile ObjectStore target;

    SwitchingStore(ObjectStore target) {
        this.target = target;
    }

    ObjectStore target() {
        return target;
    }

    void switchTo(ObjectStore s) {
        target = s;
    }

    @Override
    public String describe() {
        return target.describe();
    }

    @Override
    public byte[] get(String key) {
        return target.get(key);
    }

    @Override
    public Optional<byte[]> getIfPresent(String key) {
        return target.getIfPresent(key);
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        target.readRange(key, offset, dst);
    }

    @Override
    public void put(String key, byte[] data) {
        throw new UnsupportedOperationException("the shared follower only reads");
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        throw new UnsupportedOperationException("the shared follower only reads");
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        return target.stat(key);
    }

    @Override
    public void delete(String key) {
        throw new UnsupportedOperationException("the shared follower only reads");
    }

    @Override
    public void deleteAll(Collection<String> keys) {
        throw new UnsupportedOperationException("the shared follower only reads");
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        return target.list(prefix, startAfter, limit);
    }

    @Override
    public ChangeWatch watch(String prefix) {
        return target.watch(prefix);
    }

    @Override
    public void close() {
        // each reader closes its own store
    }
}
