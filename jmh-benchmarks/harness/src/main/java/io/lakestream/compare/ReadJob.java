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
 *       waits for its next rank shard); also bytes per second over the whole drain.
 * </ul>
 */
final class ReadJob implements Worker.Job {
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
        Latencies lat;
        if (follow) {
            long[] l = new long[(int) Math.max(0, expect - skip)];
            for (int i = (int) skip; i < expect; i++) {
                long last = 0;
                for (int r = 0; r < ranks; r++) {
                    last = Math.max(last, received[r][i]);
                }
                l[i - (int) skip] = last - stamps[i];
            }
            lat = new Latencies(l);
        } else {
            long[] all = new long[ranks * expect];
            for (int r = 0; r < ranks; r++) {
                System.arraycopy(received[r], 0, all, r * expect, expect);
            }
            lat = new Latencies(all);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", follow ? "follow" : "drain");
        out.put("ranks", ranks);
        out.put("bytes", total);
        out.put("seconds", seconds);
        out.put("mb_per_s", total / 1e6 / seconds);
        out.put("latency", lat.summary());
        out.put("cdf", lat.cdf(200));
        return out;
    }
}
