package io.lakestream.store;

import io.lakestream.metrics.Counter;
import io.lakestream.metrics.Metrics;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Counts the requests a store client makes, by operation, into
 * {@code lakestream_store_requests_total{op=…}} (and failures into
 * {@code lakestream_store_errors_total{op=…}}). {@link ObjectStores#open} puts it directly around
 * the client, under any retry layer, so each attempt counts as the request it is. The counters
 * are fixed per operation: counting is one striped add, no lookup.
 */
public final class MeteredStore implements ObjectStore {
    private static final String HELP = "Requests made to the object store, by operation (each retry counts)";
    private static final String ERR_HELP = "Store requests that failed, by operation";
    static final Op GET = new Op("get");
    static final Op GET_RANGE = new Op("get_range");
    static final Op PUT = new Op("put");
    static final Op PUT_IF_ABSENT = new Op("put_if_absent");
    static final Op STAT = new Op("stat");
    static final Op DELETE = new Op("delete");
    static final Op LIST = new Op("list");
    static final Op SYNC_NAMES = new Op("sync_names");

    private final ObjectStore inner;

    public MeteredStore(ObjectStore inner) {
        this.inner = inner;
    }

    /** {@code inner} counted, or as it is if metrics are {@linkplain Metrics#ENABLED off}. */
    public static ObjectStore wrap(ObjectStore inner) {
        return Metrics.ENABLED ? new MeteredStore(inner) : inner;
    }

    public ObjectStore inner() {
        return inner;
    }

    record Op(Counter requests, Counter errors) {
        Op(String op) {
            this(Metrics.global().counter("lakestream_store_requests_total", HELP, "op", op),
                    Metrics.global().counter("lakestream_store_errors_total", ERR_HELP, "op", op));
        }

        <T> T count(java.util.function.Supplier<T> call) {
            requests.inc();
            try {
                return call.get();
            } catch (NoSuchKeyException e) {
                throw e; // an answer, not a failure
            } catch (RuntimeException e) {
                errors.inc();
                throw e;
            }
        }

        void run(Runnable call) {
            count(() -> {
                call.run();
                return null;
            });
        }
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public byte[] get(String key) {
        return GET.count(() -> inner.get(key));
    }

    @Override
    public Optional<byte[]> getIfPresent(String key) {
        return GET.count(() -> inner.getIfPresent(key));
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        GET_RANGE.run(() -> inner.readRange(key, offset, dst));
    }

    @Override
    public void put(String key, byte[] data) {
        PUT.run(() -> inner.put(key, data));
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        return PUT_IF_ABSENT.count(() -> inner.putIfAbsent(key, data));
    }

    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        return PUT_IF_ABSENT.count(() -> inner.putIfAbsent(key, data, syncName));
    }

    @Override
    public void syncNames(Collection<String> keys) {
        SYNC_NAMES.run(() -> inner.syncNames(keys));
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        return STAT.count(() -> inner.stat(key));
    }

    @Override
    public void delete(String key) {
        DELETE.run(() -> inner.delete(key));
    }

    /** One request per key counted, whether the client batches them (S3: up to 1000 per request) or not. */
    @Override
    public void deleteAll(Collection<String> keys) {
        DELETE.requests.add(Math.max(0, keys.size() - 1));
        DELETE.run(() -> inner.deleteAll(keys));
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        return LIST.count(() -> inner.list(prefix, startAfter, limit));
    }

    @Override
    public void close() {
        inner.close();
    }

    @Override
    public String toString() {
        return "MeteredStore[" + inner + "]";
    }
}
