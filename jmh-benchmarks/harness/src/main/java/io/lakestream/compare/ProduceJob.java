package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code producers} producer threads in one process, each with its own client and its own copy
 * of the payload. With {@code rate == 0} (ingestion) each first sends {@code warmup} untimed
 * steps, then {@code steps} as fast as it can; the figure is payload bytes / time from GO to the
 * last producer's flush returning. With {@code rate > 0} (latency) steps are paced open loop at
 * that many steps per second per producer, and readers discard the first {@code warmup}.
 */
final class ProduceJob implements Worker.Job {
    private final JsonNode cfg;
    private final Clients.SinkFactory factory;
    private final int producers;
    private final long steps;
    private final long warmup;
    private final double rate;
    private final List<Clients.Sink> sinks = new ArrayList<>();
    private Payload payload;

    ProduceJob(JsonNode cfg, Clients.SinkFactory factory) {
        this.cfg = cfg;
        this.factory = factory;
        this.producers = cfg.path("producers").asInt(1);
        this.steps = cfg.path("steps").asLong();
        this.warmup = cfg.path("warmup").asLong(0);
        this.rate = cfg.path("rate").asDouble(0);
    }

    @Override
    public void setUp() throws Exception {
        for (int i = 0; i < producers; i++) {
            Payload p = new Payload(cfg.path("shardBytes").asInt(), cfg.path("worldSize").asInt(), 1000 + i);
            payload = p;
            Clients.Sink s = factory.open(cfg, i, p);
            sinks.add(s);
            if (rate == 0) {
                for (long k = 0; k < warmup; k++) {
                    s.send(k);
                }
                s.flush();
            }
        }
    }

    @Override
    public Map<String, Object> run() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(producers);
        long start = System.nanoTime();
        long first = rate == 0 ? warmup : 0;
        List<Future<Long>> done = new ArrayList<>();
        for (Clients.Sink s : sinks) {
            done.add(pool.submit(() -> {
                long periodNanos = rate > 0 ? (long) (1e9 / rate) : 0;
                for (long k = 0; k < steps; k++) {
                    if (periodNanos > 0) {
                        Worker.sleepUntil(start + k * periodNanos);
                    }
                    s.send(first + k);
                }
                s.flush();
                return System.nanoTime();
            }));
        }
        long end = start;
        for (Future<Long> f : done) {
            end = Math.max(end, f.get());
        }
        pool.shutdown();
        double seconds = (end - start) / 1e9;
        long bytes = producers * steps * payload.stepBytes();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("producers", producers);
        r.put("steps", producers * steps);
        r.put("bytes", bytes);
        r.put("seconds", seconds);
        r.put("mb_per_s", bytes / 1e6 / seconds);
        List<Map<String, Object>> stats = new ArrayList<>();
        for (Clients.Sink s : sinks) {
            stats.add(s.stats());
            s.close();
        }
        r.put("clients", stats);
        return r;
    }
}
