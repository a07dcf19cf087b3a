package io.lakestream.testkit.sim;

import io.lakestream.store.Keys;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * An object store in memory, on simulated time, with the faults real stores have: every request
 * takes a random latency there and back (others act meanwhile), a request may fail before it
 * reaches the store, a write may happen and its reply be lost, a LIST comes in pages read at
 * different moments (so it can see a deletion halfway), a batch delete removes its keys one at a
 * time in any order. Put-if-absent is atomic (the one promise the protocol needs; see
 * {@link #breakPutIfAbsent} for a store that breaks it).
 *
 * <p>Shared by all actors of one {@link SimScheduler}; every call must come from an actor. Each
 * actor's own random stream decides its requests' latencies and faults, so the run is a
 * function of the seed.
 */
public final class SimStore implements ObjectStore {
    /**
     * Fault and latency model.
     *
     * @param minLatencyMicros   one-way latency floor
     * @param meanLatencyMicros  mean of the exponential part added to the floor
     * @param tailProbability    chance a one-way trip is a tail (× {@code tailFactor})
     * @param failProbability    chance a request fails before it reaches the store
     * @param lostReplyProbability chance a write's (or delete's) reply is lost after it happened
     * @param maxListPage        a LIST returns its keys in pages of 1..maxListPage, each read at its own moment
     */
    public record Faults(long minLatencyMicros, long meanLatencyMicros, double tailProbability, double tailFactor,
                         double failProbability, double lostReplyProbability, int maxListPage) {
        /** No faults, small latencies. */
        public static Faults none() {
            return new Faults(50, 200, 0, 1, 0, 0, 1000);
        }

        /** Object-store-like latencies with a fat tail and a few percent of failures and lost replies. */
        public static Faults s3Like() {
            return new Faults(2_000, 8_000, 0.01, 20, 0.02, 0.02, 4);
        }
    }

    /** What the simulation counts. */
    public enum Op { GET, RANGE, PUT, PUT_IF_ABSENT, STAT, DELETE, LIST_PAGE, FAILED, LOST_REPLY, THROTTLED }

    /**
     * A store's own model of requests, replacing {@link Faults}' latencies (its failure and
     * lost-reply probabilities still apply): how long each leg of a request takes, and whether
     * the store admits it when it arrives (e.g. S3's per-prefix request rates, see
     * {@link S3Model}). Called on the requesting actor's thread, in simulated-time order.
     */
    public interface RequestModel {
        /** Nanoseconds for the request (with {@code bytes} of payload) to reach the store. */
        long requestNanos(Op op, String key, long bytes, SplittableRandom r);

        /** Nanoseconds for the reply (with {@code bytes} of payload) to come back. */
        long replyNanos(Op op, String key, long bytes, SplittableRandom r);

        /**
         * The request reaches the store at {@code nowNanos}: null to serve it, or the error the
         * store answers instead (a 503 SlowDown: retryable). Every request is offered here once.
         */
        StoreException admit(Op op, String key, long nowNanos);
    }

    private record Obj(byte[] data, long mtimeMillis) {}

    private final SimScheduler sim;
    private final Faults faults;
    private final String name;
    private final TreeMap<String, Obj> objects = new TreeMap<>();
    private final Map<Op, Long> counts = new EnumMap<>(Op.class);
    private long storeSkewMillis;
    private boolean putIfAbsentBroken;
    private RequestModel model;

    public SimStore(SimScheduler sim, Faults faults, String name) {
        this.sim = sim;
        this.faults = faults;
        this.name = name;
    }

    /** Skews the store's own clock (the one that stamps modification times). */
    public SimStore withStoreClockSkew(long millis) {
        this.storeSkewMillis = millis;
        return this;
    }

    /** Takes latencies and admission from {@code m} (LIST pages are then full pages, as S3 returns them). */
    public SimStore withModel(RequestModel m) {
        this.model = m;
        return this;
    }

    /**
     * Makes put-if-absent check and then write with a latency in between (as S3Proxy 3.0.0 does),
     * so two racing writers can both win: for tests that the protocol's store probe refuses it.
     */
    public SimStore breakPutIfAbsent() {
        this.putIfAbsentBroken = true;
        return this;
    }

    public Map<Op, Long> counts() {
        return Map.copyOf(counts);
    }

    /** Operations served so far, faults excluded. */
    public long operations() {
        long n = 0;
        for (Map.Entry<Op, Long> e : counts.entrySet()) {
            if (e.getKey() != Op.FAILED && e.getKey() != Op.LOST_REPLY) {
                n += e.getValue();
            }
        }
        return n;
    }

    /** The keys and sizes stored now (for invariant checks from the scheduler or an actor). */
    public TreeMap<String, Integer> snapshot() {
        TreeMap<String, Integer> m = new TreeMap<>();
        objects.forEach((k, o) -> m.put(k, o.data.length));
        return m;
    }

    /** Raw access for invariant checks: the object's bytes, or null (no latency, no faults). */
    public byte[] peek(String key) {
        Obj o = objects.get(key);
        return o == null ? null : o.data.clone();
    }

    private void count(Op op) {
        counts.merge(op, 1L, Long::sum);
    }

    private long storeMillis() {
        return SimClock.EPOCH_MILLIS + storeSkewMillis + sim.nowNanos() / 1_000_000;
    }

    private SplittableRandom rnd() {
        SimScheduler.Actor a = sim.currentActor();
        if (a == null) {
            throw new IllegalStateException("the simulated store " + name + " was called outside an actor");
        }
        return a.random();
    }

    private long oneWay(SplittableRandom r) {
        double us = faults.minLatencyMicros() - Math.log(1 - r.nextDouble()) * faults.meanLatencyMicros();
        if (faults.tailProbability() > 0 && r.nextDouble() < faults.tailProbability()) {
            us *= faults.tailFactor();
        }
        return (long) (us * 1000);
    }

    /** The request travels to the store (maybe failing on the way, or refused there); on return the store acts. */
    private void request(Op op, String key, long bytes) {
        SplittableRandom r = rnd();
        sim.await(model == null ? oneWay(r) : model.requestNanos(op, key, bytes, r));
        if (faults.failProbability() > 0 && r.nextDouble() < faults.failProbability()) {
            count(Op.FAILED);
            sim.trace(sim.currentActor() + " " + op + " " + key + " -> failed");
            throw new StoreException("simulated failure of " + op + " " + name + "/" + key, key);
        }
        StoreException refused = model == null ? null : model.admit(op, key, sim.nowNanos());
        if (refused != null) {
            count(Op.THROTTLED);
            sim.await(model.replyNanos(op, key, 0, r));
            throw refused;
        }
    }

    /** The reply travels back; for writes it may be lost after the write happened. */
    private void reply(Op op, String key, boolean write, long bytes) {
        SplittableRandom r = rnd();
        boolean lost = write && faults.lostReplyProbability() > 0 && r.nextDouble() < faults.lostReplyProbability();
        sim.await(model == null ? oneWay(r) : model.replyNanos(op, key, bytes, r));
        if (lost) {
            count(Op.LOST_REPLY);
            sim.trace(sim.currentActor() + " " + op + " " + key + " -> reply lost");
            throw new StoreException("simulated lost reply of " + op + " " + name + "/" + key + " (it may have happened)", key);
        }
    }

    @Override
    public String describe() {
        return "sim://" + name;
    }

    @Override
    public byte[] get(String key) {
        Keys.validate(key);
        request(Op.GET, key, 0);
        count(Op.GET);
        Obj o = objects.get(key);
        reply(Op.GET, key, false, o == null ? 0 : o.data.length);
        if (o == null) {
            throw new NoSuchKeyException(describe(), key);
        }
        return o.data.clone();
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        Keys.validate(key);
        request(Op.RANGE, key, 0);
        count(Op.RANGE);
        Obj o = objects.get(key);
        reply(Op.RANGE, key, false, dst.byteSize());
        if (o == null) {
            throw new NoSuchKeyException(describe(), key);
        }
        long len = dst.byteSize();
        if (offset < 0 || offset + len > o.data.length) {
            throw new StoreException(describe() + "/" + key + " has " + o.data.length + " bytes, asked for [" + offset + ", "
                    + (offset + len) + ")", key);
        }
        MemorySegment.copy(MemorySegment.ofArray(o.data), offset, dst, 0, len);
    }

    @Override
    public void put(String key, byte[] data) {
        Keys.validate(key);
        byte[] copy = data.clone();
        request(Op.PUT, key, copy.length);
        count(Op.PUT);
        objects.put(key, new Obj(copy, storeMillis()));
        sim.trace(sim.currentActor() + " PUT " + key);
        reply(Op.PUT, key, true, 0);
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        Keys.validate(key);
        byte[] copy = data.clone();
        request(Op.PUT_IF_ABSENT, key, copy.length);
        count(Op.PUT_IF_ABSENT);
        boolean created;
        if (putIfAbsentBroken) {
            boolean absent = !objects.containsKey(key);
            sim.await(oneWay(rnd()));
            created = absent;
            if (absent) {
                objects.put(key, new Obj(copy, storeMillis()));
            }
        } else {
            created = !objects.containsKey(key);
            if (created) {
                objects.put(key, new Obj(copy, storeMillis()));
            }
        }
        sim.trace(sim.currentActor() + " PUT_IF_ABSENT " + key + " -> " + (created ? "created" : "exists"));
        reply(Op.PUT_IF_ABSENT, key, true, 0);
        return created;
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        Keys.validate(key);
        request(Op.STAT, key, 0);
        count(Op.STAT);
        Obj o = objects.get(key);
        reply(Op.STAT, key, false, 0);
        return o == null ? Optional.empty() : Optional.of(new ObjectInfo(key, o.data.length, o.mtimeMillis));
    }

    @Override
    public void delete(String key) {
        Keys.validate(key);
        request(Op.DELETE, key, 0);
        count(Op.DELETE);
        boolean had = objects.remove(key) != null;
        sim.trace(sim.currentActor() + " DELETE " + key + (had ? "" : " (absent)"));
        reply(Op.DELETE, key, true, 0);
    }

    /** Keys go one at a time, in a random order, each its own request: a batch delete is not atomic. */
    @Override
    public void deleteAll(Collection<String> keys) {
        List<String> order = new ArrayList<>(keys);
        SplittableRandom r = rnd();
        for (int i = order.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            String t = order.get(i);
            order.set(i, order.get(j));
            order.set(j, t);
        }
        for (String k : order) {
            delete(k);
        }
    }

    /**
     * Pages of 1..maxListPage keys, each read from the store's state at its own moment: a key
     * deleted or created between two pages is seen as the store was when its page was read.
     */
    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        String p = Keys.validatePrefix(prefix);
        if (limit <= 0) {
            throw new IllegalArgumentException("list limit must be positive, got " + limit);
        }
        List<ObjectInfo> out = new ArrayList<>();
        String after = startAfter;
        while (out.size() < limit) {
            request(Op.LIST_PAGE, p, 0);
            count(Op.LIST_PAGE);
            int page = Math.min(limit - out.size(), model != null ? Math.max(1, faults.maxListPage())
                    : 1 + rnd().nextInt(Math.max(1, faults.maxListPage())));
            int got = 0;
            String from = after == null || after.compareTo(p) < 0 ? p : after;
            for (Map.Entry<String, Obj> e : objects.tailMap(from, after == null || !from.equals(after)).entrySet()) {
                if (!e.getKey().startsWith(p) || got == page) {
                    break;
                }
                out.add(new ObjectInfo(e.getKey(), e.getValue().data.length, e.getValue().mtimeMillis));
                after = e.getKey();
                got++;
            }
            reply(Op.LIST_PAGE, p, false, 100L * got);
            if (got < page) {
                break;
            }
        }
        return out;
    }

    @Override
    public void close() {
        // shared by the whole simulation: nothing to release per user
    }
}
