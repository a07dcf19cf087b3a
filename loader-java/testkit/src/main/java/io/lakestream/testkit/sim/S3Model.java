package io.lakestream.testkit.sim;

import io.lakestream.store.StoreException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Amazon S3 as a {@link SimStore.RequestModel}: request latencies, per-prefix request-rate
 * limits answered with 503 SlowDown, and the counts a bill and a rate report need. Every figure
 * here is an assumption, stated in docs/scale.md with its source:
 * <ul>
 *   <li><b>Latency</b>: the time to first byte of each request class is log-normal, given by its
 *       median and 99th percentile ({@link Latency}); payload moves at {@code bytesPerSecond} per
 *       request on top. Defaults: GET/HEAD 20/80 ms, PUT 35/150 ms, LIST 40/150 ms, DELETE 25/100
 *       ms, 100 MB/s: within AWS's "median latencies ... in the tens of milliseconds" for small
 *       requests (whitepaper "Best Practices Design Patterns: Optimizing Amazon S3
 *       Performance"), and commonly reported first-byte figures.</li>
 *   <li><b>Rates</b>: AWS documents "at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD
 *       requests per second per partitioned prefix". A prefix here is a key up to its last
 *       {@code /} (assuming S3 has already partitioned there: it does so by load, over 30–60
 *       minutes); a request arriving when its (prefix, class) already admitted that many in
 *       the last second (a sliding window of ten 100-ms slots) is refused with a retryable 503
 *       SlowDown, not served.
 *       LIST counts against the GET class (AWS names no limit for it).</li>
 *   <li><b>Prices</b> (S3 Standard, us-east-1, list prices as published in 2026-02): PUT, COPY,
 *       POST, LIST $0.005 per 1,000; GET, HEAD $0.0004 per 1,000; DELETE free; 4xx answers (a GET
 *       of an absent version: 404) are billed, 5xx answers (503 SlowDown) are not (AWS, "Billing
 *       for Amazon S3 error responses").</li>
 * </ul>
 * Used from the simulation's actors only (one at a time), so it needs no locking.
 */
public final class S3Model implements SimStore.RequestModel {
    /** A log-normal time to first byte, by its median and 99th percentile in milliseconds. */
    public record Latency(double p50Millis, double p99Millis) {
        public Latency {
            if (!(p50Millis > 0) || !(p99Millis >= p50Millis)) {
                throw new IllegalArgumentException("latency needs 0 < p50 <= p99, got " + p50Millis + "/" + p99Millis);
            }
        }

        long sampleNanos(SplittableRandom r) {
            double sigma = Math.log(p99Millis / p50Millis) / 2.3263478740408408; // z of the 99th percentile
            double z = gaussian(r);
            return (long) (p50Millis * Math.exp(sigma * z) * 1e6);
        }

        private static double gaussian(SplittableRandom r) {
            double u = 1 - r.nextDouble();
            double v = r.nextDouble();
            return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        }

        /** "p50/p99" in ms, as the command line takes it. */
        public static Latency parse(String s) {
            String[] p = s.split("/");
            if (p.length != 2) {
                throw new IllegalArgumentException("latency '" + s + "' is not <p50 ms>/<p99 ms>");
            }
            return new Latency(Double.parseDouble(p[0]), Double.parseDouble(p[1]));
        }

        @Override
        public String toString() {
            return fmt(p50Millis) + "/" + fmt(p99Millis) + " ms";
        }
    }

    /**
     * The model's settings.
     *
     * @param putLimit       PUT/COPY/POST/DELETE per second per prefix (0: none)
     * @param getLimit       GET/HEAD (and LIST) per second per prefix (0: none)
     * @param putPer1000     USD per 1,000 PUT, COPY, POST, LIST requests
     * @param getPer1000     USD per 1,000 GET, HEAD requests
     */
    public record Config(Latency get, Latency put, Latency list, Latency delete, double bytesPerSecond, int putLimit, int getLimit,
                         double putPer1000, double getPer1000) {
        public static Config defaults() {
            return new Config(new Latency(20, 80), new Latency(35, 150), new Latency(40, 150), new Latency(25, 100), 100e6, 3_500,
                    5_500, 0.005, 0.0004);
        }

        public Config withLatency(String op, Latency l) {
            return switch (op) {
                case "get" -> new Config(l, put, list, delete, bytesPerSecond, putLimit, getLimit, putPer1000, getPer1000);
                case "put" -> new Config(get, l, list, delete, bytesPerSecond, putLimit, getLimit, putPer1000, getPer1000);
                case "list" -> new Config(get, put, l, delete, bytesPerSecond, putLimit, getLimit, putPer1000, getPer1000);
                case "delete" -> new Config(get, put, list, l, bytesPerSecond, putLimit, getLimit, putPer1000, getPer1000);
                default -> throw new IllegalArgumentException("no latency class '" + op + "' (get, put, list, delete)");
            };
        }

        public Config withLimits(int put, int get) {
            return new Config(this.get, this.put, list, delete, bytesPerSecond, put, get, putPer1000, getPer1000);
        }

        public String describe() {
            return "latency p50/p99: GET " + get + ", PUT " + put + ", LIST " + list + ", DELETE " + delete + "; " + fmt(bytesPerSecond / 1e6)
                    + " MB/s per request; limits per prefix: " + putLimit + " PUT-class/s, " + getLimit + " GET-class/s; prices: $"
                    + String.format(Locale.ROOT, "%.4f", putPer1000) + " per 1,000 PUT/LIST, $" + String.format(Locale.ROOT, "%.4f", getPer1000)
                    + " per 1,000 GET";
        }
    }

    /** The two rate classes of S3's limits. */
    public enum RateClass { PUT, GET }

    private static final long SECOND = 1_000_000_000L;
    private static final long SLOT_NANOS = SECOND / 10;

    private final Config config;
    private final Map<String, Integer> prefixIds = new HashMap<>();
    private final Map<Integer, String> prefixNames = new HashMap<>();
    private final Map<Long, Window> windows = new HashMap<>(); // (prefix, class) -> admitted in the last second
    private final Map<Long, int[]> perSecond = new HashMap<>(); // (prefix, class, second) -> offered requests
    private final Map<Long, int[]> bucketWide = new HashMap<>(); // (class, second) -> offered requests
    private final Map<String, long[]> byRole = new HashMap<>(); // actor role -> {GET-class to _log/, all}
    private final Map<String, long[]> byFamily = new java.util.TreeMap<>(); // first key segment -> {PUT-class, GET-class, 503s}
    private final long[] offered = new long[SimStore.Op.values().length];
    private final long[] refused = new long[RateClass.values().length];
    private final long[] refusedOps = new long[SimStore.Op.values().length];
    private final ThreadLocal<long[]> replyLeft = ThreadLocal.withInitial(() -> new long[1]);
    private final SimScheduler sim;

    public S3Model(SimScheduler sim, Config config) {
        this.sim = sim;
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /** The prefix S3's rate limits apply to: the key up to and including its last '/'. */
    public static String prefixOf(String key) {
        int slash = key.lastIndexOf('/');
        return slash < 0 ? "" : key.substring(0, slash + 1);
    }

    static RateClass rateClass(SimStore.Op op) {
        return switch (op) {
            case PUT, PUT_IF_ABSENT, DELETE -> RateClass.PUT;
            default -> RateClass.GET;
        };
    }

    private Latency latency(SimStore.Op op) {
        return switch (op) {
            case PUT, PUT_IF_ABSENT -> config.put();
            case LIST_PAGE -> config.list();
            case DELETE -> config.delete();
            default -> config.get();
        };
    }

    private long transferNanos(long bytes) {
        return (long) (bytes * 1e9 / config.bytesPerSecond());
    }

    @Override
    public long requestNanos(SimStore.Op op, String key, long bytes, SplittableRandom r) {
        long firstByte = latency(op).sampleNanos(r);
        // The store acts halfway through the time to first byte; the rest is the reply's.
        replyLeft.get()[0] = firstByte - firstByte / 2;
        return firstByte / 2 + transferNanos(bytes);
    }

    @Override
    public long replyNanos(SimStore.Op op, String key, long bytes, SplittableRandom r) {
        long[] left = replyLeft.get();
        long t = left[0] + transferNanos(bytes);
        left[0] = 0;
        return t;
    }

    @Override
    public StoreException admit(SimStore.Op op, String key, long nowNanos) {
        offered[op.ordinal()]++;
        String prefix = op == SimStore.Op.LIST_PAGE ? key : prefixOf(key);
        int pid = prefixIds.computeIfAbsent(prefix, p -> {
            int id = prefixIds.size();
            prefixNames.put(id, p);
            return id;
        });
        RateClass c = rateClass(op);
        int slash = key.indexOf('/');
        long[] family = byFamily.computeIfAbsent(slash < 0 ? key : key.substring(0, slash + 1), k -> new long[3]);
        family[c.ordinal()]++;
        long second = nowNanos / SECOND;
        perSecond.computeIfAbsent(((long) pid << 32) | (second << 1) | c.ordinal(), k -> new int[1])[0]++;
        bucketWide.computeIfAbsent((second << 1) | c.ordinal(), k -> new int[1])[0]++;
        SimScheduler.Actor a = sim.currentActor();
        String role = a == null ? "?" : role(a.name());
        long[] rc = byRole.computeIfAbsent(role, k -> new long[2]);
        rc[1]++;
        if (c == RateClass.GET && prefix.equals("_log/")) {
            rc[0]++;
        }
        int limit = c == RateClass.PUT ? config.putLimit() : config.getLimit();
        if (limit <= 0) {
            return null;
        }
        Window w = windows.computeIfAbsent(((long) pid << 1) | c.ordinal(), k -> new Window());
        if (!w.admit(nowNanos, limit)) {
            refused[c.ordinal()]++;
            refusedOps[op.ordinal()]++;
            family[2]++;
            return new StoreException("503 SlowDown: " + (c == RateClass.PUT ? config.putLimit() + " PUT/COPY/POST/DELETE"
                    : config.getLimit() + " GET/HEAD") + " requests per second on prefix " + prefix + " exceeded (simulated)", key);
        }
        return null;
    }

    /**
     * Admitted requests of one (prefix, class) over the last second, in ten 100-ms slots: a
     * request is refused when the slots of the second before it already hold the limit. So no
     * 1-second window admits more than the limit (to within a slot), while bursts inside a
     * second pass: all ranks reading one step within milliseconds is fine at 1,024 a second.
     */
    private static final class Window {
        private final int[] slots = new int[10];
        private long newest = Long.MIN_VALUE;

        boolean admit(long nowNanos, int limit) {
            long slot = nowNanos / SLOT_NANOS;
            if (newest == Long.MIN_VALUE || slot - newest >= slots.length) {
                java.util.Arrays.fill(slots, 0);
            } else {
                for (long t = newest + 1; t <= slot; t++) {
                    slots[(int) (t % slots.length)] = 0;
                }
            }
            newest = Math.max(newest, slot);
            int sum = 0;
            for (int x : slots) {
                sum += x;
            }
            if (sum >= limit) {
                return false;
            }
            slots[(int) (slot % slots.length)]++;
            return true;
        }
    }

    /** The role of an actor: its name up to the first '-' (producer-3 -> producer). */
    static String role(String actor) {
        int dash = actor.indexOf('-');
        return dash < 0 ? actor : actor.substring(0, dash);
    }

    // ---------------------------------------------------------------- what was measured

    /** Requests of {@code op} that reached the store (refused ones included). */
    public long offered(SimStore.Op op) {
        return offered[op.ordinal()];
    }

    /** 503 SlowDown answers of class {@code c}. */
    public long refused(RateClass c) {
        return refused[c.ordinal()];
    }

    public long refused() {
        return refused[0] + refused[1];
    }

    /** PUT-class and GET-class requests offered and 503s, by the first segment of the key ({@code _log/}, {@code data/}, ...). */
    public Map<String, long[]> byFamily() {
        return byFamily;
    }

    /** GET-class requests to {@code _log/} and all requests, by actor role. */
    public Map<String, long[]> byRole() {
        return byRole;
    }

    /** The busiest (prefix, 1-second window) of class {@code c}: its requests offered, and the prefix. */
    public record Peak(long perSecond, String prefix, long second) {}

    public Peak peak(RateClass c) {
        long best = 0;
        String where = "-";
        long when = -1;
        for (Map.Entry<Long, int[]> e : perSecond.entrySet()) {
            long k = e.getKey();
            if ((k & 1) == c.ordinal() && e.getValue()[0] > best) {
                best = e.getValue()[0];
                where = prefixNames.get((int) (k >>> 32));
                when = (k & 0xFFFF_FFFFL) >>> 1;
            }
        }
        return new Peak(best, where, when);
    }

    /** The busiest 1-second window of class {@code c} over the whole bucket (what one unpartitioned prefix would face). */
    public long bucketPeak(RateClass c) {
        long best = 0;
        for (Map.Entry<Long, int[]> e : bucketWide.entrySet()) {
            if ((e.getKey() & 1) == c.ordinal()) {
                best = Math.max(best, e.getValue()[0]);
            }
        }
        return best;
    }

    /** Distinct prefixes that saw a request. */
    public int prefixes() {
        return prefixIds.size();
    }

    /** Requests of {@code op} served (offered and not refused with a 503): what S3 bills. */
    public long served(SimStore.Op op) {
        return offered[op.ordinal()] - refusedOps[op.ordinal()];
    }

    /** USD for every request served, at the configured list prices (503s are not billed). */
    public double cost() {
        long putClass = served(SimStore.Op.PUT) + served(SimStore.Op.PUT_IF_ABSENT) + served(SimStore.Op.LIST_PAGE);
        long getClass = served(SimStore.Op.GET) + served(SimStore.Op.RANGE) + served(SimStore.Op.STAT);
        return putClass * config.putPer1000() / 1000 + getClass * config.getPer1000() / 1000;
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : String.format(Locale.ROOT, "%.1f", d);
    }
}
