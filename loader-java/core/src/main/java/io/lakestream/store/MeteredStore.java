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

    /** One operation's two counters. Each method counts without a lambda: nothing is allocated per request. */
    record Op(Counter requests, Counter errors) {
        Op(String op) {
            this(Metrics.global().counter("lakestream_store_requests_total", HELP, "op", op),
                    Metrics.global().counter("lakestream_store_errors_total", ERR_HELP, "op", op));
        }

        RuntimeException failed(RuntimeException e) {
            if (!(e instanceof NoSuchKeyException)) { // a missing key is an answer, not a failure
                errors.inc();
            }
            return e;
        }
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public byte[] get(String key) {
        GET.requests.inc();
        try {
            return inner.get(key);
        } catch (RuntimeException e) {
            throw GET.failed(e);
        }
    }

    @Override
    public Optional<byte[]> getIfPresent(String key) {
        GET.requests.inc();
        try {
            return inner.getIfPresent(key);
        } catch (RuntimeException e) {
            throw GET.failed(e);
        }
    }

    @Override
    public boolean getIfPresent(String key, ReadBuffer into) {
        GET.requests.inc();
        try {
            return inner.getIfPresent(key, into);
        } catch (RuntimeException e) {
            throw GET.failed(e);
        }
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        GET_RANGE.requests.inc();
        try {
            inner.readRange(key, offset, dst);
        } catch (RuntimeException e) {
            throw GET_RANGE.failed(e);
        }
    }

    @Override
    public void put(String key, byte[] data) {
        PUT.requests.inc();
        try {
            inner.put(key, data);
        } catch (RuntimeException e) {
            throw PUT.failed(e);
        }
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        PUT_IF_ABSENT.requests.inc();
        try {
            return inner.putIfAbsent(key, data);
        } catch (RuntimeException e) {
            throw PUT_IF_ABSENT.failed(e);
        }
    }

    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        PUT_IF_ABSENT.requests.inc();
        try {
            return inner.putIfAbsent(key, data, syncName);
        } catch (RuntimeException e) {
            throw PUT_IF_ABSENT.failed(e);
        }
    }

    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName, Runnable beforePublish) {
        PUT_IF_ABSENT.requests.inc();
        try {
            return inner.putIfAbsent(key, data, syncName, beforePublish);
        } catch (RuntimeException e) {
            throw PUT_IF_ABSENT.failed(e);
        }
    }

    @Override
    public void syncNames(Collection<String> keys) {
        SYNC_NAMES.requests.inc();
        try {
            inner.syncNames(keys);
        } catch (RuntimeException e) {
            throw SYNC_NAMES.failed(e);
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        STAT.requests.inc();
        try {
            return inner.stat(key);
        } catch (RuntimeException e) {
            throw STAT.failed(e);
        }
    }

    @Override
    public void delete(String key) {
        DELETE.requests.inc();
        try {
            inner.delete(key);
        } catch (RuntimeException e) {
            throw DELETE.failed(e);
        }
    }

    /** One request per key counted, whether the client batches them (S3: up to 1000 per request) or not. */
    @Override
    public void deleteAll(Collection<String> keys) {
        DELETE.requests.add(keys.size());
        try {
            inner.deleteAll(keys);
        } catch (RuntimeException e) {
            throw DELETE.failed(e);
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        LIST.requests.inc();
        try {
            return inner.list(prefix, startAfter, limit);
        } catch (RuntimeException e) {
            throw LIST.failed(e);
        }
    }

    @Override
    public ChangeWatch watch(String prefix) {
        return inner.watch(prefix); // a signal, not a request: nothing to retry or meter
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
