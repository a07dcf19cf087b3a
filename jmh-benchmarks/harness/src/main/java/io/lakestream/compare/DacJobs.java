package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Decentralized Adaptive Commit, measured: many producers racing for the next manifest version
 * ({@link Run}), one producer committing on a stream of growing history ({@link Growth}), and the
 * one-off build of the long streams Growth runs on ({@link Build}). Steps are tiny so the
 * commit protocol, not the data, is what is measured.
 */
final class DacJobs {
    private DacJobs() {}

    /** Follows rank 0 from {@code from} on and records append→visible latency per step. */
    static final class Follower implements AutoCloseable {
        private final RankReader reader;
        private final long[] latencies;
        private int count;
        private final Thread thread;
        private final AtomicBoolean stop = new AtomicBoolean();
        private volatile Throwable failed;

        Follower(ObjectStore store, int worldSize, long from, int capacity) {
            this.reader = RankReader.open(store, 0, worldSize, from, ReaderOptions.defaults());
            this.latencies = new long[capacity];
            this.thread = new Thread(this::loop, "dac-follower");
            this.thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        private void loop() {
            try {
                while (!stop.get() || reader.nextStep() < target) {
                    StepBatch b;
                    try {
                        b = reader.next(200);
                    } catch (ReaderTimeoutException e) {
                        if (stop.get() && System.nanoTime() > giveUpAt) {
                            return;
                        }
                        continue;
                    }
                    try (b) {
                        long lat = Payload.wallNanos() - Payload.stamp(b.tensor("tokens").data());
                        if (count < latencies.length) {
                            latencies[count++] = lat;
                        }
                    }
                }
            } catch (Throwable t) {
                failed = t;
            }
        }

        private volatile long target = Long.MAX_VALUE;
        private volatile long giveUpAt = Long.MAX_VALUE;

        /** Reads up to step {@code endStep} (exclusive) or gives up after 30 s, then returns the latencies. */
        Latencies finish(long endStep) throws InterruptedException {
            target = endStep;
            giveUpAt = System.nanoTime() + 30_000_000_000L;
            stop.set(true);
            thread.join(35_000);
            if (failed != null) {
                throw new IllegalStateException("follower failed: " + failed, failed);
            }
            long[] l = new long[count];
            System.arraycopy(latencies, 0, l, 0, count);
            return new Latencies(l);
        }

        @Override
        public void close() {
            stop.set(true);
            target = 0;
            reader.close();
        }
    }

    /** {@code producers} producers appending tiny steps flat out for {@code seconds}, sampled every {@code sampleMillis}. */
    static final class Run implements Worker.Job {
        private final JsonNode cfg;
        private final List<TgbProducer> producers = new ArrayList<>();
        private final List<Payload> payloads = new ArrayList<>();
        private ObjectStore store;
        private Follower follower;
        private long startSteps;

        Run(JsonNode cfg) {
            this.cfg = cfg;
        }

        @Override
        public void setUp() {
            int n = cfg.path("producers").asInt();
            int w = cfg.path("worldSize").asInt();
            store = ObjectStores.open(Worker.text(cfg, "uri"), true);
            ProducerOptions o = LakestreamClients.options(cfg);
            for (int i = 0; i < n; i++) {
                producers.add(TgbProducer.open(store, "dac" + i, StreamConfig.of(w), o));
                payloads.add(new Payload(cfg.path("shardBytes").asInt(), w, i));
            }
            startSteps = producers.get(n - 1).log().refresh().committedSteps();
            follower = new Follower(store, w, startSteps, 2_000_000);
        }

        @Override
        public Map<String, Object> run() throws Exception {
            int n = producers.size();
            long durationNanos = (long) (cfg.path("seconds").asDouble() * 1e9);
            long sampleNanos = cfg.path("sampleMillis").asLong(100) * 1_000_000;
            ExecutorService pool = Executors.newFixedThreadPool(n);
            follower.start();
            long start = System.nanoTime();
            long deadline = start + durationNanos;
            List<Future<Long>> done = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                TgbProducer p = producers.get(i);
                Payload pl = payloads.get(i);
                done.add(pool.submit(() -> {
                    long k = 0;
                    while (System.nanoTime() < deadline) {
                        p.append(pl.lakestreamBatch(k, Payload.wallNanos()), "next=" + (++k));
                    }
                    p.commit();
                    return k;
                }));
            }
            List<Map<String, Object>> series = new ArrayList<>();
            for (long t = start + sampleNanos; ; t += sampleNanos) {
                Worker.sleepUntil(t);
                series.add(sample(t - start));
                if (System.nanoTime() >= deadline && allDone(done)) {
                    break;
                }
            }
            long steps = 0;
            for (Future<Long> f : done) {
                steps += f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            Latencies lat = follower.finish(startSteps + steps);
            long commits = 0;
            long conflicts = 0;
            for (TgbProducer p : producers) {
                commits += p.commits();
                conflicts += p.conflicts();
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("producers", n);
            r.put("group", cfg.path("group").asText("default"));
            r.put("steps", steps);
            r.put("commits", commits);
            r.put("conflicts", conflicts);
            r.put("seconds", seconds);
            r.put("steps_per_s", steps / seconds);
            r.put("commits_per_s", commits / seconds);
            r.put("conflicts_per_commit", commits == 0 ? 0 : (double) conflicts / commits);
            r.put("visible", lat.summary());
            r.put("cdf", lat.cdf(200));
            r.put("series", series);
            for (TgbProducer p : producers) {
                p.close();
            }
            follower.close();
            store.close();
            return r;
        }

        private Map<String, Object> sample(long elapsedNanos) {
            long commits = 0;
            long conflicts = 0;
            int maxGroup = 0;
            double sumGroup = 0;
            for (TgbProducer p : producers) { // racy reads of another thread's counters: fine for a sample
                commits += p.commits();
                conflicts += p.conflicts();
                maxGroup = Math.max(maxGroup, p.groupTarget());
                sumGroup += p.groupTarget();
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("t_s", elapsedNanos / 1e9);
            m.put("commits", commits);
            m.put("conflicts", conflicts);
            m.put("mean_group", sumGroup / producers.size());
            m.put("max_group", maxGroup);
            return m;
        }

        private static boolean allDone(List<Future<Long>> fs) {
            for (Future<Long> f : fs) {
                if (!f.isDone()) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One producer committing one tiny step per version ({@code commits} of them) on an existing stream. */
    static final class Growth implements Worker.Job {
        private final JsonNode cfg;
        private ObjectStore store;
        private TgbProducer producer;
        private Follower follower;
        private Payload payload;
        private double openMillis;
        private double readerOpenMillis;
        private long startSteps;
        private long startVersions;

        Growth(JsonNode cfg) {
            this.cfg = cfg;
        }

        @Override
        public void setUp() {
            int w = cfg.path("worldSize").asInt();
            store = ObjectStores.open(Worker.text(cfg, "uri"), false);
            long t0 = System.nanoTime();
            producer = TgbProducer.open(store, "probe", StreamConfig.of(w), ProducerOptions.defaults().withGroup(1, 1, false));
            openMillis = (System.nanoTime() - t0) / 1e6;
            startSteps = producer.log().state().committedSteps();
            startVersions = producer.log().state().version();
            t0 = System.nanoTime();
            follower = new Follower(store, w, startSteps, cfg.path("commits").asInt());
            readerOpenMillis = (System.nanoTime() - t0) / 1e6;
            payload = new Payload(cfg.path("shardBytes").asInt(), w, 5);
        }

        @Override
        public Map<String, Object> run() throws Exception {
            int k = cfg.path("commits").asInt();
            long[] commitNanos = new long[k];
            follower.start();
            long start = System.nanoTime();
            for (int i = 0; i < k; i++) {
                long t0 = System.nanoTime();
                producer.append(payload.lakestreamBatch(i, Payload.wallNanos()), "next=" + (i + 1));
                producer.commit(); // the timer covers commit() returning: the version is durable and visible
                commitNanos[i] = System.nanoTime() - t0;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Latencies visible = follower.finish(startSteps + k);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("start_steps", startSteps);
            r.put("start_versions", startVersions);
            r.put("open_ms", openMillis);
            r.put("reader_open_ms", readerOpenMillis);
            r.put("commits", k);
            r.put("conflicts", producer.conflicts());
            r.put("seconds", seconds);
            r.put("commits_per_s", k / seconds);
            r.put("commit", new Latencies(commitNanos).summary());
            r.put("visible", visible.summary());
            producer.close();
            follower.close();
            store.close();
            return r;
        }
    }

    /**
     * Grows a stream by real commits to at least {@code versions} manifest versions holding at
     * least {@code versions x group} committed tiny steps (a fixed group of {@code group} batches
     * per commit), resumably, for Growth to run on.
     */
    static final class Build implements Worker.Job {
        private final JsonNode cfg;
        private ObjectStore store;
        private TgbProducer producer;
        private Payload payload;
        private int group;

        Build(JsonNode cfg) {
            this.cfg = cfg;
        }

        @Override
        public void setUp() {
            int w = cfg.path("worldSize").asInt();
            group = cfg.path("group").asInt(10);
            store = ObjectStores.open(Worker.text(cfg, "uri"), true);
            producer = TgbProducer.open(store, "builder", StreamConfig.of(w),
                    ProducerOptions.defaults().withGroup(group, group, false).withWriteParallelism(16));
            payload = new Payload(cfg.path("shardBytes").asInt(), w, 3);
        }

        @Override
        public Map<String, Object> run() {
            long versions = cfg.path("versions").asLong();
            long targetSteps = versions * group;
            io.lakestream.log.ManifestState st = producer.log().refresh();
            long haveSteps = st.committedSteps();
            long haveVersions = st.version();
            long start = System.nanoTime();
            long lastReport = start;
            long k = producer.committedSeq();
            while (st.committedSteps() < targetSteps || st.version() < versions) {
                // at most 10k steps between looks at the log; once the steps are there, one group per commit
                long chunk = st.committedSteps() < targetSteps ? Math.min(10_000, targetSteps - st.committedSteps()) : group;
                for (long i = 0; i < chunk; i++) {
                    producer.append(payload.lakestreamBatch(k, 0), "next=" + (++k));
                }
                producer.commit();
                st = producer.log().refresh();
                if (System.nanoTime() - lastReport > 10_000_000_000L) {
                    lastReport = System.nanoTime();
                    System.err.printf("dac-build: %d of %d steps, %d of %d versions (%.0f steps/s)%n", st.committedSteps(), targetSteps,
                            st.version(), versions, (st.committedSteps() - haveSteps) / ((lastReport - start) / 1e9));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("steps", st.committedSteps());
            r.put("versions", st.version());
            r.put("added_steps", st.committedSteps() - haveSteps);
            r.put("added_versions", st.version() - haveVersions);
            r.put("seconds", seconds);
            producer.close();
            store.close();
            return r;
        }
    }
}
