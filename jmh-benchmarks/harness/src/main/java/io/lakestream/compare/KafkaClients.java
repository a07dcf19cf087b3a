package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Kafka's side: a {@link KafkaProducer} per producer thread sending rank {@code r}'s shard of
 * every step to partition {@code r} (acks=all, idempotence on: Kafka's exactly-once-per-partition
 * producer, the closest match to Lakestream's), and a {@link KafkaConsumer} per partition
 * assigned directly (no group), as a rank would read its partition. Two configurations: tuned
 * ({@code "tuned": true} in the job) and the clients' defaults.
 */
final class KafkaClients {
    private KafkaClients() {}

    /** Tuned producer and consumer sizes (see docs/benchmarks.md, "Kafka at its best"). */
    static final int TUNED_BATCH_BYTES = 1 << 20;
    static final int TUNED_MAX_REQUEST_BYTES = 8 << 20;
    static final long TUNED_BUFFER_MEMORY = 64L << 20;
    static final int TUNED_FETCH_MAX_BYTES = 16 << 20;
    static final int TUNED_PARTITION_FETCH_BYTES = 8 << 20;

    /**
     * A tuned client's {@code buffer.memory}: 64 MiB (or 16 steps) for one client, but at most a
     * quarter of the process's heap shared by the clients of one process, at least 4 steps each.
     * The buffer pool is heap: 8 clients of 64 MiB in one -Xmx512m process ran out of memory,
     * and an operator sizes the pool to the heap. {@code Runtime.maxMemory()} is this JVM's
     * heap (the producer clients run in the process this is called in).
     */
    static long tunedBufferMemory(Payload payload, int clientsInProcess) {
        long want = Math.max(TUNED_BUFFER_MEMORY, 16L * payload.stepBytes());
        long share = Runtime.getRuntime().maxMemory() / 4 / Math.max(1, clientsInProcess);
        return Math.max(4L * payload.stepBytes(), Math.min(want, share));
    }

    /**
     * The producer's properties. {@code tuned} (job field {@code "tuned": true}): batches and requests sized
     * for 256 KiB records, {@code linger.ms} and {@code compression.type} from the job (the grid's
     * best), socket buffers left to the OS's autotuning. Otherwise the client's defaults, except
     * what a 256 KiB record needs to be sent at all.
     */
    static Properties producerProperties(JsonNode cfg, int producer, Payload payload) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Worker.text(cfg, "bootstrap"));
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-p" + producer);
        if (cfg.path("tuned").asBoolean(false)) {
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, Math.max(TUNED_BATCH_BYTES, 4 * (payload.shardBytes + 1024)));
            p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(TUNED_MAX_REQUEST_BYTES, 4 * payload.worldSize * (payload.shardBytes + 1024)));
            p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, tunedBufferMemory(payload, cfg.path("producers").asInt(1)));
            p.put(ProducerConfig.LINGER_MS_CONFIG, cfg.path("linger").asInt(5));
            p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, cfg.path("compression").asText("none"));
            p.put(ProducerConfig.SEND_BUFFER_CONFIG, -1); // the OS's autotuned socket buffer, not 128 KiB
        } else {
            // Room for one shard per request at any configured shard size; everything else default.
            p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, payload.shardBytes + (64 << 10)));
            p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 8L * payload.stepBytes()));
        }
        return p;
    }

    /** The consumer's properties: tuned = fetches of >= 4 MiB per partition and request, OS socket buffers. */
    static Properties consumerProperties(JsonNode cfg, int rank) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, Worker.text(cfg, "bootstrap"));
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-r" + rank);
        if ("drain".equals(cfg.path("mode").asText())) {
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1"); // one record per call: per-record fetch latency
        }
        if (cfg.path("tuned").asBoolean(false)) {
            p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, TUNED_FETCH_MAX_BYTES);
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, TUNED_PARTITION_FETCH_BYTES);
            p.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, -1);
        }
        return p;
    }

    static Clients.Sink sink(JsonNode cfg, int producer, Payload payload) {
        Properties p = producerProperties(cfg, producer, payload);
        KafkaProducer<byte[], byte[]> kp = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        String topic = Worker.text(cfg, "topic");
        AtomicReference<Exception> failed = new AtomicReference<>();
        AtomicLong acked = new AtomicLong();
        return new Clients.Sink() {
            @Override
            public void send(long index) {
                long now = Payload.wallNanos();
                for (int r = 0; r < payload.worldSize; r++) {
                    // send() copies the value into its batch before it returns: the array may be re-stamped later.
                    kp.send(new ProducerRecord<>(topic, r, null, payload.stampedShard(index, r, now)), (md, e) -> {
                        if (e != null) {
                            failed.compareAndSet(null, e);
                        } else {
                            acked.incrementAndGet();
                        }
                    });
                }
            }

            @Override
            public void flush() throws Exception {
                kp.flush();
                if (failed.get() != null) {
                    throw failed.get();
                }
            }

            @Override
            public Map<String, Object> stats() {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("producer", "bench-p" + producer);
                m.put("acked_records", acked.get());
                return m;
            }

            @Override
            public void close() {
                kp.close(Duration.ofSeconds(10));
            }
        };
    }

    static Clients.Source source(JsonNode cfg, int rank) {
        Properties p = consumerProperties(cfg, rank);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        TopicPartition tp = new TopicPartition(Worker.text(cfg, "topic"), rank);
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        c.position(tp); // resolve the offset (and connect) before GO
        return new Clients.Source() {
            private Iterator<ConsumerRecord<byte[], byte[]>> buffered = java.util.Collections.emptyIterator();

            @Override
            public boolean take(long timeoutMillis, Clients.Delivery out) {
                long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
                while (!buffered.hasNext()) {
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        return false;
                    }
                    buffered = c.poll(Duration.ofMillis(Math.min(left, 100))).iterator();
                }
                byte[] v = buffered.next().value();
                out.index = Payload.index(v);
                out.stampNanos = Payload.stamp(v);
                out.bytes = v.length;
                return true;
            }

            @Override
            public void close() {
                c.close(Duration.ofSeconds(5));
            }
        };
    }
}
