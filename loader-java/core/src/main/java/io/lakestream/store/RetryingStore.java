package io.lakestream.store;

import io.lakestream.time.Clock;
import java.util.random.RandomGenerator;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The retry layer of a store whose client has none of its own (the {@code file://} store, and
 * the fault-injecting store in tests): every operation that fails with a
 * {@linkplain StoreException#isRetryable() retryable} {@link StoreException} is tried again per
 * the {@link RetryPolicy}, waiting on the injected {@link Clock}. A missing key, a bad key and
 * permanent failures surface at once.
 *
 * <p>Put-if-absent is retried too, as the S3 SDK retries a conditional PUT: if an earlier
 * attempt did land, the retry answers {@code false} although this caller wrote the object. The
 * {@link ObjectStore} contract already makes callers read the key back to learn a conditional
 * write's outcome ({@link ConditionalPut}); the manifest log and the producer do.
 */
public final class RetryingStore implements ObjectStore {
    private final ObjectStore inner;
    private final RetryPolicy policy;
    private final Clock clock;
    private final RandomGenerator random;

    public RetryingStore(ObjectStore inner, RetryPolicy policy, Clock clock) {
        this(inner, policy, clock, null);
    }

    /** Jittering its backoff with {@code random} (null: thread-local randomness), e.g. a simulation's seeded source. */
    public RetryingStore(ObjectStore inner, RetryPolicy policy, Clock clock, RandomGenerator random) {
        this.inner = inner;
        this.policy = policy;
        this.clock = clock;
        this.random = random;
    }

    /** With {@link RetryPolicy#defaults()} on the system clock. */
    public RetryingStore(ObjectStore inner) {
        this(inner, RetryPolicy.defaults(), Clock.system());
    }

    public ObjectStore inner() {
        return inner;
    }

    public RetryPolicy policy() {
        return policy;
    }

    private <T> T retry(String op, String key, Supplier<T> call) {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (StoreException e) {
                backOffOrThrow(op, key, e, attempt);
            }
        }
    }

    /**
     * The one retry decision: rethrows {@code e} if it is final (no such key, not retryable, the
     * attempts spent), else sleeps the policy's backoff before attempt {@code failedAttempt + 1}.
     */
    private void backOffOrThrow(String op, String key, StoreException e, int failedAttempt) {
        if (e instanceof NoSuchKeyException || failedAttempt >= policy.maxAttempts() || !e.isRetryable()) {
            throw e;
        }
        try {
            clock.sleep(random == null ? policy.backoffMillis(failedAttempt) : policy.backoffMillis(failedAttempt, random));
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new StoreException(op + " of " + key + " in " + describe() + " interrupted while backing off after: "
                    + e.getMessage(), key, e, false);
        }
    }

    private void retry(String op, String key, Runnable call) {
        retry(op, key, () -> {
            call.run();
            return null;
        });
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public byte[] get(String key) {
        return retry("read", key, () -> inner.get(key));
    }

    @Override
    public Optional<byte[]> getIfPresent(String key) {
        return retry("read", key, () -> inner.getIfPresent(key));
    }

    @Override
    public boolean getIfPresent(String key, ReadBuffer into) {
        return retry("read", key, () -> inner.getIfPresent(key, into));
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        // the loop written out, as for the object puts below: a capturing lambda per call was a
        // share of a rank's garbage per step and of a producer's per batch (issue 23)
        for (int attempt = 1; ; attempt++) {
            try {
                inner.readRange(key, offset, dst);
                return;
            } catch (StoreException e) {
                backOffOrThrow("ranged read", key, e, attempt);
            }
        }
    }

    @Override
    public void put(String key, byte[] data) {
        retry("write", key, () -> inner.put(key, data));
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        return retry("conditional write", key, () -> inner.putIfAbsent(key, data));
    }

    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        return putIfAbsent(key, data, syncName, null);
    }

    /** {@code beforePublish} null: the plain put (every batch object's; each version's has a barrier). */
    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName, Runnable beforePublish) {
        for (int attempt = 1; ; attempt++) {
            try {
                return beforePublish == null ? inner.putIfAbsent(key, data, syncName)
                        : inner.putIfAbsent(key, data, syncName, beforePublish);
            } catch (StoreException e) {
                backOffOrThrow("conditional write", key, e, attempt);
            }
        }
    }

    @Override
    public void syncNames(Collection<String> keys) {
        // the first key names the failure; a List's is read without an iterator (a commit syncs once: no garbage)
        String first = keys.isEmpty() ? "" : keys instanceof List<String> l ? l.get(0) : keys.iterator().next();
        retry("directory sync", first, () -> inner.syncNames(keys));
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        return retry("stat", key, () -> inner.stat(key));
    }

    @Override
    public void delete(String key) {
        retry("delete", key, () -> inner.delete(key));
    }

    /** Key by key, each retried: a failure part-way through a batch loses none of its progress. */
    @Override
    public void deleteAll(Collection<String> keys) {
        for (String key : keys) {
            delete(key);
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        return retry("list", prefix, () -> inner.list(prefix, startAfter, limit));
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
        return "RetryingStore[" + inner + ", " + policy + "]";
    }
}
