package io.lakestream.bench;

import io.lakestream.StreamEnv;
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
import io.lakestream.stream.Lakestream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;

/**
 * What a trainer's JVM costs per step apart from the training loop itself (issue 20's trainer
 * target), without Python around it: a producer process commits one 16 x 257-token step per
 * version to a file:// stream of world size 1 (max lag 8, as the colocated comparison runs it);
 * this process reads it as Python's reader does (unchecked views, prefetch 2), "trains" by parking
 * the main thread for the step time, and records a checkpoint every 4 steps on a checkpoint
 * thread. Printed per window of steps: CPU ms per step of everything but the main thread (the
 * process's CPU, which includes the JIT's and GC's threads, minus the main thread's), split by Java
 * thread, and the JIT's compile time per step.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -cp jmh-benchmarks/target/benchmarks.jar \
 *     io.lakestream.bench.TrainerCpuProbe [windows=6] [steps per window=100] [step ms=45]</pre>
 */
public final class TrainerCpuProbe {
    private TrainerCpuProbe() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("produce")) {
            produce(args[1]);
            return;
        }
        int windows = args.length > 0 ? Integer.parseInt(args[0]) : 6;
        int perWindow = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        double stepMs = args.length > 2 ? Double.parseDouble(args[2]) : 45;
        Path dir = Files.createTempDirectory("lakestream-trainer-cpu-");
        String uri = "file://" + dir.resolve("stream");
        try (ObjectStore store = ObjectStores.open(uri, true)) {
            TgbProducer.open(store, "prep-0", StreamConfig.of(1).withRetention(2, 8), ProducerOptions.defaults()).close();
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process producer = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), TrainerCpuProbe.class.getName(), "produce", uri).inheritIO().start();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        ExecutorService checkpoints = Executors.newSingleThreadExecutor(r -> new Thread(r, "checkpoint"));
        try (Lakestream stream = Lakestream.open(uri, StreamEnv.defaults());
             RankReader reader = stream.reader(0, 1, 0,
                     ReaderOptions.defaults().withPrefetch(2).withCheckedViews(false))) {
            long step = 0;
            System.out.println("| steps | other threads ms/step | JIT compile ms/step | by Java thread (ms/step) |");
            System.out.println("|---|---:|---:|---|");
            for (int w = 0; w < windows; w++) {
                Map<String, Long> t0 = javaThreads(mx);
                long p0 = os.getProcessCpuTime();
                long m0 = mx.getCurrentThreadCpuTime();
                long j0 = jit.getTotalCompilationTime();
                long first = step;
                for (int i = 0; i < perWindow; i++) {
                    try (StepBatch b = reader.next(60_000)) {
                        step = b.step() + 1;
                    }
                    LockSupport.parkNanos((long) (stepMs * 1e6));
                    if (step % 4 == 0) {
                        long s = step;
                        checkpoints.submit(() -> stream.recordCheckpoint(s, "ck-" + s));
                    }
                }
                long other = os.getProcessCpuTime() - p0 - (mx.getCurrentThreadCpuTime() - m0);
                Map<String, Long> t1 = javaThreads(mx);
                StringBuilder by = new StringBuilder();
                t1.forEach((name, ns) -> {
                    double ms = (ns - t0.getOrDefault(name, 0L)) / 1e6 / perWindow;
                    if (!name.equals(Thread.currentThread().getName()) && ms >= 0.01) {
                        by.append(by.isEmpty() ? "" : ", ").append(String.format("%s %.2f", name, ms));
                    }
                });
                System.out.printf("| %d-%d | %.2f | %.2f | %s |%n", first, step - 1, other / 1e6 / perWindow,
                        (jit.getTotalCompilationTime() - j0) / (double) perWindow, by);
            }
        } finally {
            checkpoints.shutdownNow();
            producer.destroyForcibly().waitFor();
            BenchStream.deleteTree(dir);
        }
    }

    /** CPU ns of each live Java thread, summed per name with trailing digits dropped. */
    private static Map<String, Long> javaThreads(ThreadMXBean mx) {
        Map<String, Long> out = new TreeMap<>();
        for (ThreadInfo ti : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (ti == null) {
                continue;
            }
            long ns = mx.getThreadCpuTime(ti.getThreadId());
            if (ns > 0) {
                out.merge(ti.getThreadName().replaceAll("[-#]?[0-9]+$", ""), ns, Long::sum);
            }
        }
        return out;
    }

    /** The producer process: one step per version, as fast as flow control lets it. */
    private static void produce(String uri) throws Exception {
        byte[] tokens = new byte[16 * 257 * 4];
        try (ObjectStore store = ObjectStores.open(uri, false);
             TgbProducer p = TgbProducer.open(store, "prep-0", StreamConfig.of(1).withRetention(2, 8),
                     ProducerOptions.defaults().withGroup(1, 1, false))) {
            for (long i = 0; ; i++) {
                tokens[(int) (i % tokens.length)]++;
                p.append(List.of(Map.of("tokens", new TensorData(DType.I32, new long[] {16, 257}, tokens.clone()))),
                        "{\"batch\":" + i + ",\"epoch\":0,\"format\":\"lakestream.produce/1\"}");
                p.commit();
            }
        }
    }
}
