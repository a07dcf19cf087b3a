package io.lakestream.testkit;

import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a store and makes it misbehave the ways real object stores do, deterministically from a
 * seed: calls that fail before doing anything, calls that succeed but whose response is "lost"
 * (the caller sees an error although the write happened), added latency, and short reads.
 * Used by the exactly-once tests and the conformance suite.
 */
public final class FaultInjectingStore implements ObjectStore {
    private final ObjectStore inner;
    private final Random random;
    private volatile double failBeforeRate;
    private volatile double failAfterRate;
    private volatile long latencyMillis;
    private volatile double truncateReadRate;
    private volatile Set<String> lostResponseOps = Set.of("put", "putIfAbsent", "delete");
    private volatile Set<String> failBeforeOps = null; // null: every operation
    private final AtomicLong injected = new AtomicLong();

    public FaultInjectingStore(ObjectStore inner, long seed) {
        this.inner = inner;
        this.random = new Random(seed);
    }

    /** Fraction of calls that fail without touching the store. */
    public FaultInjectingStore failBefore(double rate) {
        this.failBeforeRate = rate;
        return this;
    }

    /**
     * Restricts {@link #failBefore} to these operations ("get", "readRange", "put",
     * "putIfAbsent", "stat", "delete", "list"); all of them by default.
     */
    public FaultInjectingStore failBeforeOn(String... ops) {
        Set<String> s = Set.of(ops);
        for (String op : s) {
            if (!Set.of("get", "readRange", "put", "putIfAbsent", "stat", "delete", "list").contains(op)) {
                throw new IllegalArgumentException("no operation '" + op + "' (get, readRange, put, putIfAbsent, stat, delete, list)");
            }
        }
        this.failBeforeOps = s;
        return this;
    }

    /** Fraction of writes/deletes that take effect but then report failure (lost response). */
    public FaultInjectingStore failAfter(double rate) {
        this.failAfterRate = rate;
        return this;
    }

    /**
     * Restricts {@link #failAfter} to these operations ("put", "putIfAbsent", "delete"); all
     * three by default. A lost response on put or delete is harmless to retry, one on
     * putIfAbsent is the ambiguous case callers must resolve by reading the key back.
     */
    public FaultInjectingStore lostResponsesOn(String... ops) {
        Set<String> s = Set.of(ops);
        for (String op : s) {
            if (!Set.of("put", "putIfAbsent", "delete").contains(op)) {
                throw new IllegalArgumentException("no lost responses for operation '" + op + "' (put, putIfAbsent, delete)");
            }
        }
        this.lostResponseOps = s;
        return this;
    }

    public FaultInjectingStore latency(long millis) {
        this.latencyMillis = millis;
        return this;
    }

    /** Fraction of whole-object reads that return a truncated copy (a torn transfer). */
    public FaultInjectingStore truncateReads(double rate) {
        this.truncateReadRate = rate;
        return this;
    }

    /** How many faults were injected so far. */
    public long injectedFaults() {
        return injected.get();
    }

    private boolean roll(double rate) {
        if (rate <= 0) {
            return false;
        }
        synchronized (random) {
            return random.nextDouble() < rate;
        }
    }

    private void before(String op, String key) {
        long l = latencyMillis;
        if (l > 0) {
            try {
                Thread.sleep(l);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Set<String> ops = failBeforeOps;
        if ((ops == null || ops.contains(op)) && roll(failBeforeRate)) {
            injected.incrementAndGet();
            throw new StoreException("injected fault: " + op + " of " + key + " failed before reaching the store", key);
        }
    }

    private void after(String op, String key) {
        if (lostResponseOps.contains(op) && roll(failAfterRate)) {
            injected.incrementAndGet();
            throw new StoreException("injected fault: " + op + " of " + key + " succeeded but its response was lost", key);
        }
    }

    @Override
    public String describe() {
        return "faulty(" + inner.describe() + ")";
    }

    @Override
    public byte[] get(String key) {
        before("get", key);
        byte[] b = inner.get(key);
        if (b.length > 0 && roll(truncateReadRate)) {
            injected.incrementAndGet();
            return java.util.Arrays.copyOf(b, b.length / 2);
        }
        return b;
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        before("readRange", key);
        inner.readRange(key, offset, dst);
    }

    @Override
    public void put(String key, byte[] data) {
        before("put", key);
        inner.put(key, data);
        after("put", key);
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        before("putIfAbsent", key);
        boolean created = inner.putIfAbsent(key, data);
        if (created) { // a response is "lost" only for a write that took effect
            after("putIfAbsent", key);
        }
        return created;
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        before("stat", key);
        return inner.stat(key);
    }

    @Override
    public void delete(String key) {
        before("delete", key);
        inner.delete(key);
        after("delete", key);
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        before("list", prefix);
        return inner.list(prefix, startAfter, limit);
    }

    @Override
    public void close() {
        inner.close();
    }
}
