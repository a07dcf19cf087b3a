package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code producers} producer threads in one process, each with its own client and its own copy
 * of the payload.
 *
 * <p>Ingestion ({@code rate == 0}): before READY each producer warms up in chunks of
 * {@code warmupChunk} steps (each chunk sent and flushed, its rate measured) until two
 * consecutive chunks' rates are within {@value #WARM_TOLERANCE} of each other or
 * {@code warmupMaxSeconds} passed (reported as {@code warmup_converged}). After GO the producers
 * send as fast as they can until {@code windowSeconds} passed or {@code windowBytes} were sent,
 * whichever comes first (or exactly {@code steps} per producer if that is set), then flush; the
 * figure is payload bytes / time from GO to the last producer's flush returning.
 *
 * <p>Latency ({@code rate > 0}): {@code steps} steps per producer paced open loop at that many
 * steps per second; the readers discard their warm-up steps.
 */
final class ProduceJob implements Worker.Job {
    /** Two warm-up chunks whose rates differ by less than this fraction: warm. */
    static final double WARM_TOLERANCE = 0.15;

    private final JsonNode cfg;
    private final Clients.SinkFactory factory;
    private final int producers;
    private final long steps;
    private final double rate;
    private final double windowSeconds;
    private final long windowBytes;
    private final List<Clients.Sink> sinks = new ArrayList<>();
    private final List<Map<String, Object>> warmups = new ArrayList<>();
    private final long[] nextIndex;
    private Payload payload;

    ProduceJob(JsonNode cfg, Clients.SinkFactory factory) {
        this.cfg = cfg;
        this.factory = factory;
        this.producers = cfg.path("producers").asInt(1);
        this.steps = cfg.path("steps").asLong(0);
        this.rate = cfg.path("rate").asDouble(0);
        this.windowSeconds = cfg.path("windowSeconds").asDouble(0);
        this.windowBytes = cfg.path("windowBytes").asLong(0);
        this.nextIndex = new long[producers];
    }

    @Override
    public void setUp() throws Exception {
        for (int i = 0; i < producers; i++) {
            Payload p = new Payload(cfg.path("shardBytes").asInt(), cfg.path("worldSize").asInt(), 1000 + i);
            payload = p;
            Clients.Sink s = factory.open(cfg, i, p);
            sinks.add(s);
            if (rate == 0 && cfg.path("warmupChunk").asInt(16) > 0) {
                warmups.add(warmUp(s, i));
            }
        }
    }

    /** Chunks of sends + flush until two consecutive chunk rates agree (or the time is up). */
    private Map<String, Object> warmUp(Clients.Sink s, int producer) throws Exception {
        int chunk = cfg.path("warmupChunk").asInt(16);
        double maxSeconds = cfg.path("warmupMaxSeconds").asDouble(5);
        long deadline = System.nanoTime() + (long) (maxSeconds * 1e9);
        List<Double> rates = new ArrayList<>();
        boolean converged = false;
        long k = 0;
        while (true) {
            long t0 = System.nanoTime();
            for (int j = 0; j < chunk; j++) {
                s.send(k++);
            }
            s.flush();
            rates.add(chunk * payload.stepBytes() / 1e6 / ((System.nanoTime() - t0) / 1e9));
            int n = rates.size();
            if (n >= 2 && Math.abs(rates.get(n - 1) - rates.get(n - 2)) <= WARM_TOLERANCE * Math.max(rates.get(n - 1), rates.get(n - 2))) {
                converged = true;
                break;
            }
            if (System.nanoTime() > deadline || n >= 200) {
                break;
            }
        }
        nextIndex[producer] = k;
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("steps", k);
        w.put("chunk_mb_per_s", rates);
        w.put("converged", converged);
        return w;
    }

    @Override
    public Map<String, Object> run() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(producers);
        long start = System.nanoTime();
        long stepBytes = payload.stepBytes();
        long windowEnd = windowSeconds > 0 ? start + (long) (windowSeconds * 1e9) : Long.MAX_VALUE;
        AtomicLong sentBytes = new AtomicLong();
        List<Future<long[]>> done = new ArrayList<>();
        for (int i = 0; i < sinks.size(); i++) {
            Clients.Sink s = sinks.get(i);
            long first = nextIndex[i];
            done.add(pool.submit(() -> {
                long periodNanos = rate > 0 ? (long) (1e9 / rate) : 0;
                long k = 0;
                while (true) {
                    if (steps > 0) {
                        if (k >= steps) {
                            break;
                        }
                    } else if (System.nanoTime() >= windowEnd || (windowBytes > 0 && sentBytes.get() >= windowBytes)) {
                        break;
                    }
                    if (periodNanos > 0) {
                        Worker.sleepUntil(start + k * periodNanos);
                    }
                    s.send(first + k);
                    k++;
                    sentBytes.addAndGet(stepBytes);
                }
                s.flush();
                return new long[] {System.nanoTime(), k};
            }));
        }
        long end = start;
        long total = 0;
        for (Future<long[]> f : done) {
            long[] x = f.get();
            end = Math.max(end, x[0]);
            total += x[1];
        }
        pool.shutdown();
        double seconds = (end - start) / 1e9;
        long bytes = total * stepBytes;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("producers", producers);
        r.put("steps", total);
        r.put("bytes", bytes);
        r.put("seconds", seconds);
        r.put("mb_per_s", bytes / 1e6 / seconds);
        if (!warmups.isEmpty()) {
            r.put("warmup", warmups);
            r.put("warmup_converged", warmups.stream().allMatch(w -> Boolean.TRUE.equals(w.get("converged"))));
        }
        List<Map<String, Object>> stats = new ArrayList<>();
        for (Clients.Sink s : sinks) {
            stats.add(s.stats());
            s.close();
        }
        r.put("clients", stats);
        return r;
    }
}
