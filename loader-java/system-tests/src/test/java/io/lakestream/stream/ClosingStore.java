package io.lakestream.stream;

import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStoreProvider;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A file store that refuses every call once closed (a file store's close does nothing), so a test
 * sees who closed it; served as {@code closing:///dir} by {@link Provider} (this module's tests'
 * META-INF/services).
 */
public final class ClosingStore implements ObjectStore {
    private final ObjectStore inner;
    private volatile boolean closed;

    ClosingStore(ObjectStore inner) {
        this.inner = inner;
    }

    /** Serves {@code closing:///absolute/dir}. */
    public static final class Provider implements ObjectStoreProvider {
        @Override
        public String scheme() {
            return "closing";
        }

        @Override
        public ObjectStore open(URI uri, boolean create) {
            return new ClosingStore(FileStore.open(Path.of(uri.getPath()), create));
        }
    }

    boolean closed() {
        return closed;
    }

    private ObjectStore inner() {
        if (closed) {
            throw new IllegalStateException(inner.describe() + " is closed");
        }
        return inner;
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public byte[] get(String key) {
        return inner().get(key);
    }

    @Override
    public Optional<byte[]> getIfPresent(String key) {
        return inner().getIfPresent(key);
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        inner().readRange(key, offset, dst);
    }

    @Override
    public void put(String key, byte[] data) {
        inner().put(key, data);
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        return inner().putIfAbsent(key, data);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        return inner().stat(key);
    }

    @Override
    public void delete(String key) {
        inner().delete(key);
    }

    @Override
    public void deleteAll(Collection<String> keys) {
        inner().deleteAll(keys);
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        return inner().list(prefix, startAfter, limit);
    }

    @Override
    public void close() {
        closed = true;
        inner.close();
    }
}
