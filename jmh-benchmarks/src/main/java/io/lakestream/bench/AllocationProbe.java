package io.lakestream.bench;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Heap garbage per batch on the producer and per step on the read path, in steady state, on
 * file:// and s3:// (the embedded S3 server runs as its own process, so only the client's
 * allocations count): the JVM's total allocated bytes over all threads (ThreadMXBean), after a
 * warm-up, divided by the batches or steps done. W = 4 ranks of 256 KiB I32 tokens (1 MiB steps).
 * The batches handed to the producer are built once and reused (their arrays are the caller's),
 * so what is counted is the library's own garbage.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp jmh-benchmarks/target/benchmarks.jar io.lakestream.bench.AllocationProbe [file,s3] [steps] [KiB per shard] [fixed group]</pre>
 */
public final class AllocationProbe {
    private static final int W = 4;
    private static int SHARD = 256 << 10;

    private AllocationProbe() {}

    public static void main(String[] args) throws Exception {
        List<String> stores = args.length > 0 ? List.of(args[0].split(",")) : List.of("file", "s3");
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        if (args.length > 2) {
            SHARD = Integer.parseInt(args[2]) << 10; // KiB per rank shard
        }
        // a fixed group (4th argument) spreads the per-version work of the log over that many batches
        ProducerOptions options = args.length > 3
                ? ProducerOptions.defaults().withGroup(Integer.parseInt(args[3]), Integer.parseInt(args[3]), false)
                : ProducerOptions.defaults();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        System.out.printf("| store | producer B/batch (%d x %d KiB) | producer B/MiB | read path B/step (rank 0 of %d) | log polls |%n", W,
                SHARD >> 10, W);
        System.out.println("|---|---:|---:|---:|---:|");
        for (String kind : stores) {
            Path dir = Files.createTempDirectory("lakestream-alloc-");
            S3ServerChild server = null;
            String uri = "file://" + dir.resolve("stream");
            if (kind.equals("s3")) {
                server = S3ServerChild.start(dir, "alloc-probe");
                uri = server.uri();
            }
            try (ObjectStore store = ObjectStores.open(uri, true)) {
                List<List<Map<String, TensorData>>> batches = batches();
                int warm = Math.max(100, steps / 4);
                long produced;
                long versions;
                long before;
                try (TgbProducer p = TgbProducer.open(store, "alloc", StreamConfig.of(W), options)) {
                    for (int i = 0; i < warm; i++) {
                        p.append(batches.get(i % batches.size()), "c" + i);
                    }
                    p.commit();
                    Map<String, Long> threads0 = byThread(mx);
                    long commits0 = p.commits();
                    before = mx.getTotalThreadAllocatedBytes();
                    for (int i = 0; i < steps; i++) {
                        p.append(batches.get(i % batches.size()), "c");
                    }
                    p.commit();
                    produced = mx.getTotalThreadAllocatedBytes() - before;
                    versions = p.commits() - commits0;
                    byThread(mx).forEach((name, bytes) -> {
                        long b = (bytes - threads0.getOrDefault(name, 0L)) / steps;
                        if (b > 0) {
                            producerThreads.append(producerThreads.isEmpty() ? "" : ", ").append(name).append(' ').append(b);
                        }
                    });
                }
                long perBatch = produced / steps;
                long read;
                long polls;
                try (RankReader r = RankReader.open(store, 0, W, 0, ReaderOptions.defaults())) {
                    for (int i = 0; i < warm; i++) {
                        r.next(60_000).close();
                    }
                    before = mx.getTotalThreadAllocatedBytes();
                    for (int i = 0; i < steps; i++) {
                        r.next(60_000).close();
                    }
                    read = mx.getTotalThreadAllocatedBytes() - before;
                    polls = r.logPolls();
                }
                System.out.printf("| %s | %,d | %,d | %,d | %d |%n", kind, perBatch, perBatch * (1 << 20) / ((long) W * SHARD),
                        read / steps, polls);
                System.err.printf("%s producer B/batch by thread: %s; %.2f batches per version (%d versions)%n", kind, producerThreads,
                        (double) steps / Math.max(1, versions), versions);
                producerThreads.setLength(0);
            } finally {
                if (server != null) {
                    server.close();
                }
                BenchStream.deleteTree(dir);
            }
        }
    }

    private static final StringBuilder producerThreads = new StringBuilder();

    /** Bytes allocated so far by each live thread, summed per name with trailing digits dropped. */
    private static Map<String, Long> byThread(com.sun.management.ThreadMXBean mx) {
        Map<String, Long> out = new java.util.TreeMap<>();
        long[] ids = mx.getAllThreadIds();
        long[] bytes = mx.getThreadAllocatedBytes(ids);
        java.lang.management.ThreadInfo[] infos = mx.getThreadInfo(ids);
        for (int i = 0; i < ids.length; i++) {
            if (infos[i] != null && bytes[i] > 0) {
                out.merge(infos[i].getThreadName().replaceAll("[-#]?[0-9]+$", ""), bytes[i], Long::sum);
            }
        }
        return out;
    }

    /** A few distinct global batches of random tokens, built once. */
    private static List<List<Map<String, TensorData>>> batches() {
        SplittableRandom rnd = new SplittableRandom(1);
        List<List<Map<String, TensorData>>> out = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            List<Map<String, TensorData>> shards = new ArrayList<>();
            for (int r = 0; r < W; r++) {
                byte[] bytes = new byte[SHARD];
                rnd.nextBytes(bytes);
                shards.add(Map.of("tokens", new TensorData(DType.I32, new long[] {SHARD / 4 / 1024, 1024}, bytes)));
            }
            out.add(List.copyOf(shards));
        }
        return out;
    }
}
