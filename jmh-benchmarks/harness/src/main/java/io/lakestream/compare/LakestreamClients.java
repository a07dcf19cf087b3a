package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/** Lakestream's side: a {@link TgbProducer} per producer thread, a {@link RankReader} per rank. */
final class LakestreamClients {
    private LakestreamClients() {}

    /**
     * Producer options from the job: the library's defaults unless {@code group} ("initial,max,adaptive")
     * or {@code writeParallelism} say otherwise. Later producer work is measured by rerunning with
     * the defaults it ships.
     */
    static ProducerOptions options(JsonNode cfg) {
        ProducerOptions o = ProducerOptions.defaults();
        String g = cfg.path("group").asText("");
        if (!g.isEmpty()) {
            String[] f = g.split(",");
            o = o.withGroup(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Boolean.parseBoolean(f[2]));
        }
        if (cfg.has("writeParallelism")) {
            o = o.withWriteParallelism(cfg.get("writeParallelism").asInt());
        }
        Integer wp = Integer.getInteger("compare.writeParallelism"); // experiments: --client-jvm-opts -Dcompare.writeParallelism=N
        if (wp != null) {
            o = o.withWriteParallelism(wp);
        }
        return o;
    }

    /**
     * Reader options from the job: unchecked views unless {@code checkedViews} says otherwise. The
     * harness reads a batch's bytes only before closing it, as the Python binding (which always
     * reads unchecked) does, so the per-batch scope would only add its JVM-wide handshake.
     */
    static ReaderOptions readerOptions(JsonNode cfg) {
        return ReaderOptions.defaults().withCheckedViews(cfg.path("checkedViews").asBoolean(false));
    }

    static Clients.Sink sink(JsonNode cfg, int producer, Payload payload) {
        ObjectStore store = ObjectStores.open(Worker.text(cfg, "uri"), true);
        String id = cfg.path("producerPrefix").asText("p") + producer;
        TgbProducer p = TgbProducer.open(store, id, StreamConfig.of(payload.worldSize), options(cfg));
        return new Clients.Sink() {
            @Override
            public void send(long index) {
                p.append(payload.lakestreamBatch(index, Payload.wallNanos()), "next=" + (index + 1));
            }

            @Override
            public void flush() {
                p.commit();
            }

            @Override
            public Map<String, Object> stats() {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("producer", id);
                m.put("commits", p.commits());
                m.put("conflicts", p.conflicts());
                m.put("group", p.groupTarget());
                return m;
            }

            @Override
            public void close() {
                p.close();
                store.close();
            }
        };
    }

    /**
     * One rank's reader. Draining written data ({@code mode=drain}), the store is opened before
     * GO and the {@link RankReader} (whose dispatcher starts fetching at once) at the first
     * {@code take}, after GO: like Kafka's consumer, which has its connection and offset before GO
     * but fetches nothing until its first {@code poll()}, it reads nothing before the clock starts,
     * and its open is part of the first take's time. Following ({@code mode=follow}, nothing is
     * written before GO) it is opened before GO, as Kafka's consumer is assigned before GO: an
     * open after GO would put its cost on the first steps' latency (the flight recordings of
     * --jfr showed the slowest steps waiting on the readers' opens).
     */
    static Clients.Source source(JsonNode cfg, int rank) {
        ObjectStore store = ObjectStores.open(Worker.text(cfg, "uri"), false);
        int worldSize = cfg.path("worldSize").asInt();
        long from = cfg.path("fromStep").asLong(0);
        ReaderOptions options = readerOptions(cfg);
        RankReader eager = "drain".equals(cfg.path("mode").asText()) ? null
                : RankReader.open(store, rank, worldSize, from, options);
        return new Clients.Source() {
            private RankReader r = eager;

            @Override
            public boolean take(long timeoutMillis, Clients.Delivery out) {
                if (r == null) {
                    r = RankReader.open(store, rank, worldSize, from, options);
                }
                StepBatch b;
                try {
                    b = r.next(timeoutMillis);
                } catch (ReaderTimeoutException e) {
                    return false;
                }
                try (b) {
                    MemorySegment tokens = b.tensor("tokens").data();
                    out.index = Payload.index(tokens);
                    out.stampNanos = Payload.stamp(tokens);
                    out.bytes = tokens.byteSize();
                }
                return true;
            }

            @Override
            public void close() {
                if (r != null) {
                    r.close();
                }
                store.close();
            }
        };
    }
}
