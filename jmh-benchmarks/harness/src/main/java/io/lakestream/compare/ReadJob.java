package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One reader thread per rank (Lakestream) or partition (Kafka) in one process, each taking
 * {@code expect} rank shards.
 *
 * <ul>
 *   <li>{@code follow}: data arrives while we read. A step is visible when every rank has it;
 *       its latency is the last rank's receive time minus the producer's hand-over stamp.
 *       Steps with index below {@code skip} are warm-up and not counted.
 *   <li>{@code drain}: the data was written before GO. Each take is timed (the time a trainer
 *       waits for its next rank shard), each rank's first {@code skip} takes being its warm-up;
 *       also bytes per second over the whole drain.
 * </ul>
 */
final class ReadJob implements Worker.Job {
    /**
     * Whether the warm-up was over: the median of the first fifth of the measured samples (in the
     * order they happened) is within 25 % (or 0.2 ms) of the last fifth's. A trend across the
     * window (a JIT or page cache still warming) fails it; the result says so.
     */
    static Map<String, Object> warmupCheck(long[] inOrder) {
        Map<String, Object> m = new LinkedHashMap<>();
        int fifth = inOrder.length / 5;
        if (fifth < 2) {
            m.put("ok", null);
            return m;
        }
        double first = new Latencies(Arrays.copyOfRange(inOrder, 0, fifth)).percentileMillis(50);
        double last = new Latencies(Arrays.copyOfRange(inOrder, inOrder.length - fifth, inOrder.length)).percentileMillis(50);
        m.put("first_fifth_p50_ms", first);
        m.put("last_fifth_p50_ms", last);
        m.put("ok", Math.abs(first - last) <= Math.max(0.2, 0.25 * Math.max(first, last)));
        return m;
    }

    private final JsonNode cfg;
    private final Clients.SourceFactory factory;
    private final int ranks;
    private final int expect;
    private final long skip;
    private final boolean follow;
    private final long timeoutMillis;
    private final List<Clients.Source> sources = new ArrayList<>();

    ReadJob(JsonNode cfg, Clients.SourceFactory factory) {
        this.cfg = cfg;
        this.factory = factory;
        this.ranks = cfg.path("worldSize").asInt();
        this.expect = cfg.path("expect").asInt();
        this.skip = cfg.path("skip").asLong(0);
        this.follow = "follow".equals(cfg.path("mode").asText("follow"));
        this.timeoutMillis = cfg.path("timeoutMillis").asLong(60_000);
    }

    @Override
    public void setUp() throws Exception {
        for (int r = 0; r < ranks; r++) {
            sources.add(factory.open(cfg, r));
        }
    }

    @Override
    public Map<String, Object> run() throws Exception {
        long[][] received = new long[ranks][expect]; // follow: wall ns by step index; drain: ns per take
        long[] stamps = new long[expect];
        long[] bytes = new long[ranks];
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        long start = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            final int rank = r;
            Clients.Source src = sources.get(r);
            done.add(pool.submit(() -> {
                Clients.Delivery d = new Clients.Delivery();
                for (int i = 0; i < expect; i++) {
                    long t0 = System.nanoTime();
                    if (!src.take(timeoutMillis, d)) {
                        throw new IllegalStateException("rank " + rank + " got " + i + " of " + expect + " shards, then nothing for "
                                + timeoutMillis + " ms");
                    }
                    if (follow) {
                        long now = Payload.wallNanos();
                        if (d.index < 0 || d.index >= expect) {
                            throw new IllegalStateException("rank " + rank + " read step index " + d.index + ", expected < " + expect);
                        }
                        received[rank][(int) d.index] = now;
                        stamps[(int) d.index] = d.stampNanos;
                    } else {
                        received[rank][i] = System.nanoTime() - t0;
                    }
                    bytes[rank] += d.bytes;
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        for (Clients.Source s : sources) {
            s.close();
        }
        long total = Arrays.stream(bytes).sum();
        long[] ordered; // the measured samples in the order they happened (follow: by step; drain: rank by rank)
        if (follow) {
            ordered = new long[(int) Math.max(0, expect - skip)];
            for (int i = (int) skip; i < expect; i++) {
                long last = 0;
                for (int r = 0; r < ranks; r++) {
                    last = Math.max(last, received[r][i]);
                }
                ordered[i - (int) skip] = last - stamps[i];
            }
        } else {
            int keep = (int) Math.max(0, expect - skip); // each rank's first `skip` takes are its warm-up
            ordered = new long[ranks * keep];
            for (int r = 0; r < ranks; r++) {
                System.arraycopy(received[r], (int) Math.min(skip, expect), ordered, r * keep, keep);
            }
        }
        Latencies lat = new Latencies(ordered);
        List<Map<String, Object>> slow = new ArrayList<>();
        if (follow && ordered.length > 0) {
            // the slowest 1 % (at most 50): when each was handed over and how long it took, to line up with a flight recording
            double p99 = lat.percentileMillis(99) * 1e6;
            for (int i = 0; i < ordered.length && slow.size() < 50; i++) {
                if (ordered[i] >= p99) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("step", i + skip);
                    m.put("handed_over_wall_ns", stamps[(int) (i + skip)]);
                    m.put("latency_ms", ordered[i] / 1e6);
                    slow.add(m);
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", follow ? "follow" : "drain");
        out.put("ranks", ranks);
        out.put("bytes", total);
        out.put("seconds", seconds);
        out.put("mb_per_s", total / 1e6 / seconds);
        out.put("latency", lat.summary());
        out.put("cdf", lat.cdf(200));
        out.put("warmup_check", warmupCheck(follow ? ordered : Arrays.copyOf(ordered, (int) Math.max(0, expect - skip))));
        if (follow) {
            out.put("skip", skip); // samples_ns[i] is step skip + i
            out.put("slow_steps", slow);
            out.put("handed_over_wall_ns", Arrays.copyOfRange(stamps, (int) Math.min(skip, expect), expect));
        }
        out.put("samples_ns", ordered);
        return out;
    }
}
