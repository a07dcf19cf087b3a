package io.lakestream.bench;

import io.lakestream.stream.Lakestream;
import io.lakestream.StreamEnv;
import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.testkit.CountingStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Log GETs a process of W rank readers makes to follow a stream, per second, per process and per
 * reader, and how soon its readers see a commit: <b>idle</b> = every reader waits at the head of
 * a stream nobody commits to (after the first seconds of silence); <b>busy</b> = a producer in
 * this process commits one step per version at {@code rate} steps/s while the readers keep up.
 * Log GETs = every store read that is not a ranged read of batch data (the readers' handle's store is
 * wrapped in a {@link CountingStore}). Seen = time from the producer's commit returning to the
 * last rank's {@code next()} returning the step.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp jmh-benchmarks/target/benchmarks.jar io.lakestream.bench.FollowerGetsProbe [file|s3] [seconds] [rate]</pre>
 */
public final class FollowerGetsProbe {
    private static final int W = 4;

    private FollowerGetsProbe() {}

    public static void main(String[] args) throws Exception {
        String kind = args.length > 0 ? args[0] : "file";
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        double rate = args.length > 2 ? Double.parseDouble(args[2]) : 25;
        Path dir = Files.createTempDirectory("lakestream-follow-");
        S3ServerChild server = null;
        String uri = "file://" + dir.resolve("stream");
        if (kind.equals("s3")) {
            server = S3ServerChild.start(dir, "follow-probe");
            uri = server.uri();
        }
        try (ObjectStore store = ObjectStores.open(uri, true);
             TgbProducer p = TgbProducer.open(store, "probe", StreamConfig.of(W), ProducerOptions.defaults().withGroup(1, 1, false))) {
            Map<String, TensorData> shard = Map.of("tokens", new TensorData(DType.I32, new long[] {1, 1024}, new byte[4096]));
            List<Map<String, TensorData>> batch = List.of(shard, shard, shard, shard);
            p.append(batch, "c0");
            p.commit();
            // the process's W ranks read one stream through one handle: one follower, one counted store
            CountingStore cs = new CountingStore(ObjectStores.open(uri, false));
            List<CountingStore> stores = List.of(cs);
            Lakestream stream = Lakestream.open(cs, StreamEnv.defaults());
            List<RankReader> readers = new ArrayList<>();
            long[] committedAt = new long[1 << 16];
            AtomicLong seenSum = new AtomicLong();
            AtomicLong seenCount = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            long[][] seenBy = new long[W][1 << 16];
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < W; r++) {
                RankReader reader = stream.reader(r, W, 1, ReaderOptions.defaults());
                readers.add(reader);
                int rank = r;
                threads.add(Thread.ofPlatform().daemon().start(() -> {
                    while (!stop.get()) {
                        try (StepBatch b = reader.next(200)) {
                            seenBy[rank][(int) b.step()] = System.nanoTime();
                        } catch (ReaderTimeoutException e) {
                            // waiting at the head
                        }
                    }
                }));
            }
            Thread.sleep(3_000); // past the first second of silence: the follower has backed off
            long g0 = logGets(stores);
            long t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            double idle = (logGets(stores) - g0) / ((System.nanoTime() - t0) / 1e9);
            long g1 = logGets(stores);
            long t1 = System.nanoTime();
            long step = 1;
            for (long k = 0; System.nanoTime() - t1 < seconds * 1e9; k++) {
                long due = t1 + (long) (k * 1e9 / rate);
                while (System.nanoTime() < due) {
                    Thread.sleep(0, 200_000);
                }
                p.append(batch, "c" + step);
                p.commit();
                committedAt[(int) step] = System.nanoTime();
                step++;
            }
            double busy = (logGets(stores) - g1) / ((System.nanoTime() - t1) / 1e9);
            Thread.sleep(500);
            stop.set(true);
            List<Long> seen = new ArrayList<>();
            for (long s = 1; s < step; s++) {
                long last = 0;
                for (int r = 0; r < W; r++) {
                    last = Math.max(last, seenBy[r][(int) s]);
                }
                if (last > 0) {
                    seen.add(last - committedAt[(int) s]);
                }
            }
            seen.sort(null);
            for (Thread t : threads) {
                t.join(2_000);
            }
            for (RankReader r : readers) {
                r.close();
            }
            stream.close();
            cs.close();
            System.out.printf("| store | readers | idle log GETs/s (process, per reader) | busy at %.0f commits/s: log GETs/s (process, per reader),"
                    + " per commit | commit → last rank sees it p50 / p99 ms |%n", rate);
            System.out.println("|---|---:|---:|---:|---:|");
            System.out.printf("| %s | %d | %.1f, %.1f | %.1f, %.1f, %.1f | %.2f / %.2f |%n", kind, W, idle, idle / W, busy, busy / W, busy / rate,
                    seen.get(seen.size() / 2) / 1e6, seen.get(seen.size() * 99 / 100) / 1e6);
        } finally {
            if (server != null) {
                server.close();
            }
            BenchStream.deleteTree(dir);
        }
    }

    private static long logGets(List<CountingStore> stores) {
        long n = 0;
        for (CountingStore cs : stores) {
            n += cs.gets.get() - cs.rangedReads.get() + cs.lists.get();
        }
        return n;
    }
}
