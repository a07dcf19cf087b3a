package io.lakestream.store;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Checks that a store keeps the promises the commit protocol is built on, before anyone trusts
 * it with a stream ({@code lakestream doctor}, and the quick part on every stream creation).
 *
 * <p>Everything it writes lives under {@code _probe/<random>/} and is deleted at the end. The
 * put-if-absent race is the property that matters most and the one a store can silently break:
 * a server that checks "absent?" and then writes (S3Proxy 3.0.0 without a per-key lock, its
 * legacy {@code filesystem} backend) lets two conditional writers both win, and two producers
 * then both believe they committed the same manifest version. Racing writers start together on
 * a latch so the race window is as tight as the client allows; each writes distinct bytes, and
 * the outcome is judged against what is stored afterwards, so a write whose reply was lost
 * (an exception) counts as "maybe won", never as a second winner.
 */
public final class StoreProbe {
    /** Key prefix of everything a probe writes (never a key of a stream). */
    public static final String PREFIX = "_probe/";

    /** One checked property: passed or not, what was seen, and why the protocol needs it. */
    public record Result(String property, boolean passed, String detail, String neededFor) {
        public String line() {
            return (passed ? "PASS " : "FAIL ") + property + ": " + detail + " (needed for: " + neededFor + ")";
        }
    }

    /** How hard to probe. */
    public record Plan(int racers, int raceRounds, boolean largeObjects, int listedKeys) {
        /** What stream creation runs: a few dozen small requests. */
        public static Plan quick() {
            return new Plan(8, 8, false, 3);
        }

        /** What {@code lakestream doctor} runs: more rounds, a paged listing and multipart-sized objects. */
        public static Plan full() {
            return new Plan(8, 40, true, 1_100);
        }
    }

    /** Objects above this are sent in parts by multipart-capable stores (S3: 8 MiB parts). */
    static final int LARGE_OBJECT_BYTES = (16 << 20) + 4096;

    private final ObjectStore store;
    private final String root;

    public StoreProbe(ObjectStore store) {
        this.store = store;
        this.root = PREFIX + UUID.randomUUID().toString().replace("-", "") + "/";
    }

    /** Runs {@code plan}; the store is left as it was (best effort if a delete fails). */
    public List<Result> run(Plan plan) {
        List<Result> results = new ArrayList<>();
        try {
            results.add(readAfterWrite());
            results.add(race("put-if-absent has exactly one winner", "small objects", plan.racers(), plan.raceRounds(), 64));
            if (plan.largeObjects()) {
                results.add(race("put-if-absent has exactly one winner on large objects", "multipart-sized objects",
                        Math.min(4, plan.racers()), 2, LARGE_OBJECT_BYTES));
            }
            results.add(listAfterWrite(plan.listedKeys()));
            results.add(rangedRead());
            results.add(deleteIsSeen());
        } finally {
            cleanUp();
        }
        return results;
    }

    /**
     * The quick probe stream creation runs.
     *
     * @throws UnsafeStoreException naming the first property the store failed
     */
    public static void requireSafe(ObjectStore store) {
        for (Result r : new StoreProbe(store).run(Plan.quick())) {
            if (!r.passed()) {
                throw new UnsafeStoreException(store.describe(), r);
            }
        }
    }

    private Result readAfterWrite() {
        String what = "read-after-write";
        String why = "a reader that sees version v in a listing or a commit must be able to read it at once";
        byte[] a = bytes("first", 1000);
        String k = root + "raw";
        store.put(k, a);
        Optional<byte[]> got = store.getIfPresent(k);
        if (got.isEmpty() || !Arrays.equals(got.get(), a)) {
            return new Result(what, false, "a GET right after a PUT " + (got.isEmpty() ? "found nothing" : "returned other bytes"), why);
        }
        String k2 = root + "raw-ifabsent";
        if (!store.putIfAbsent(k2, a)) {
            return new Result(what, false, "put-if-absent of a fresh key reported the key as present", why);
        }
        got = store.getIfPresent(k2);
        if (got.isEmpty() || !Arrays.equals(got.get(), a)) {
            return new Result(what, false, "a GET right after a put-if-absent " + (got.isEmpty() ? "found nothing" : "returned other bytes"), why);
        }
        return new Result(what, true, "PUT and put-if-absent visible to the next GET, whole", why);
    }

    private Result race(String what, String objects, int racers, int rounds, int size) {
        String why = "a commit is a put-if-absent of the next manifest version: two winners would both believe they committed it";
        ExecutorService pool = Executors.newFixedThreadPool(racers, r -> {
            Thread t = new Thread(r, "lakestream-probe-race");
            t.setDaemon(true);
            return t;
        });
        try {
            int wrong = 0;
            String example = null;
            for (int round = 0; round < rounds; round++) {
                String key = root + "race-" + size + "-" + round;
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Boolean>> outcomes = new ArrayList<>();
                List<byte[]> payloads = new ArrayList<>();
                for (int i = 0; i < racers; i++) {
                    byte[] mine = bytes("racer-" + i + "-round-" + round, size);
                    payloads.add(mine);
                    outcomes.add(pool.submit(() -> {
                        start.await();
                        return store.putIfAbsent(key, mine);
                    }));
                }
                start.countDown();
                int winners = 0;
                List<Integer> maybe = new ArrayList<>();
                int winner = -1;
                for (int i = 0; i < racers; i++) {
                    Boolean won = await(outcomes.get(i), key);
                    if (won == null) {
                        maybe.add(i);
                    } else if (won) {
                        winners++;
                        winner = i;
                    }
                }
                byte[] stored = store.getIfPresent(key).orElse(null);
                int owner = -1;
                for (int i = 0; stored != null && i < racers; i++) {
                    if (Arrays.equals(stored, payloads.get(i))) {
                        owner = i;
                    }
                }
                String seen = null;
                if (stored == null || owner < 0) {
                    seen = stored == null ? "the key was absent after the race" : "the stored object matched no writer";
                } else if (winners > 1) {
                    seen = winners + " of " + racers + " conditional writers were told they created " + key;
                } else if (winners == 1 && owner != winner) {
                    seen = "writer " + winner + " was told it created " + key + " but writer " + owner + "'s bytes are stored";
                } else if (winners == 0 && !maybe.contains(owner)) {
                    seen = "no writer was told it created " + key + ", yet writer " + owner + "'s bytes are stored";
                }
                if (seen != null) {
                    wrong++;
                    example = example == null ? seen : example;
                }
            }
            if (example != null) {
                return new Result(what, false, wrong + " of " + rounds + " " + racers + "-way races of " + objects
                        + " went wrong, e.g. " + example, why);
            }
            return new Result(what, true, rounds + " " + racers + "-way races of " + objects + ": one winner each, its bytes stored", why);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The racer's answer; null if its write failed without saying whether it happened. */
    private static Boolean await(Future<Boolean> f, String key) {
        try {
            return f.get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StoreException) {
                return null;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new StoreException("probe write of " + key + " failed: " + e.getCause(), key, e.getCause());
        } catch (TimeoutException e) {
            throw new StoreException("probe write of " + key + " did not finish within 120 s", key, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted while probing " + key, key, e);
        }
    }

    private Result listAfterWrite(int n) {
        String what = "list-after-write";
        String why = "readers and committers find the newest manifest versions and snapshots by listing";
        String dir = root + "list/";
        List<String> written = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String k = dir + String.format("%06d", i);
            store.put(k, bytes(k, 16));
            written.add(k);
        }
        List<String> seen = new ArrayList<>();
        String after = null;
        while (true) {
            List<ObjectInfo> page = store.list(dir, after, 1000);
            for (ObjectInfo o : page) {
                seen.add(o.key());
            }
            if (page.size() < 1000) {
                break;
            }
            after = page.get(page.size() - 1).key();
        }
        if (!seen.equals(written)) {
            List<String> missing = new ArrayList<>(written);
            missing.removeAll(seen);
            return new Result(what, false, "listed " + seen.size() + " of " + n + " keys just written"
                    + (missing.isEmpty() ? " (out of order or with extra keys)" : ", missing e.g. " + missing.get(0)), why);
        }
        return new Result(what, true, n + " keys just written listed in ascending order" + (n > 1000 ? " across pages" : ""), why);
    }

    private Result rangedRead() {
        String what = "ranged GET";
        String why = "a rank fetches exactly its shard of a batch object with one ranged read";
        int size = (1 << 20) + 3;
        byte[] all = bytes("ranged", size);
        String k = root + "ranged";
        store.put(k, all);
        long[][] ranges = {{0, 1}, {0, size}, {12_345, 4_096}, {size - 7, 7}, {size - 1, 1}};
        try (Arena arena = Arena.ofConfined()) {
            for (long[] r : ranges) {
                MemorySegment dst = arena.allocate(r[1]);
                store.readRange(k, r[0], dst);
                byte[] got = dst.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                if (!Arrays.equals(got, Arrays.copyOfRange(all, (int) r[0], (int) (r[0] + r[1])))) {
                    return new Result(what, false, "bytes [" + r[0] + ", " + (r[0] + r[1]) + ") of a " + size + "-byte object differ", why);
                }
            }
            try {
                store.readRange(k, size - 2, arena.allocate(4));
                return new Result(what, false, "a read past the end of the object returned data instead of failing", why);
            } catch (StoreException expected) {
                // a short object must be an error: a truncated batch object must never look whole
            }
        }
        return new Result(what, true, ranges.length + " ranges of a 1 MiB object exact; a read past the end fails", why);
    }

    private Result deleteIsSeen() {
        String what = "delete";
        String why = "GC reclaims batch objects and old log files; a reader must never see a half-deleted object";
        String k = root + "deleted";
        store.put(k, bytes(k, 10));
        store.delete(k);
        if (store.getIfPresent(k).isPresent()) {
            return new Result(what, false, "a GET after DELETE still found the object", why);
        }
        store.delete(k);
        return new Result(what, true, "a deleted object is gone for the next GET; deleting twice is not an error", why);
    }

    private void cleanUp() {
        try {
            List<String> keys = new ArrayList<>();
            String after = null;
            while (true) {
                List<ObjectInfo> page = store.list(root, after, 1000);
                page.forEach(o -> keys.add(o.key()));
                if (page.size() < 1000) {
                    break;
                }
                after = page.get(page.size() - 1).key();
            }
            store.deleteAll(keys);
        } catch (RuntimeException e) {
            System.getLogger(StoreProbe.class.getName()).log(System.Logger.Level.WARNING,
                    "could not remove probe objects under " + store.describe() + "/" + root + ": " + e.getMessage());
        }
    }

    private static byte[] bytes(String seed, int n) {
        byte[] b = new byte[n];
        long x = seed.hashCode() * 0x9E3779B97F4A7C15L + n;
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        byte[] tag = seed.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        System.arraycopy(tag, 0, b, 0, Math.min(tag.length, n));
        return b;
    }
}
