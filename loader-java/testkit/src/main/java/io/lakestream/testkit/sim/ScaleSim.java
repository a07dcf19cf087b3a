package io.lakestream.testkit.sim;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.Crc32c;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.VersionTombstone;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.log.EntryWire;
import io.lakestream.reader.HandoffFeed;
import io.lakestream.reader.JobFeed;
import io.lakestream.reader.NodeFetch;
import io.lakestream.reader.NodeFetchFailedException;
import io.lakestream.reader.NodeFetcher;
import io.lakestream.reader.NodeSlice;
import io.lakestream.reader.NodeSlices;
import io.lakestream.reader.SharedFollower;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Lakestream at scale on a simulated S3 ({@link S3Model}): {@code P} producers committing global
 * batches for {@code W} ranks, the ranks reading them, a synchronous trainer consuming them,
 * checkpoint records and GC, all running the real producer, log, checkpoint and GC code on
 * simulated time ({@link SimScheduler}), so a 1,024-rank run takes minutes of CPU, not a cluster.
 *
 * <p>How the readers run: ranks run {@code ranksPerNode} to a node (one process per rank, as a
 * PyTorch job runs them). Who follows the log is {@code followers}: every rank's process
 * ({@code rank}: a job without a process group), the first rank of each node ({@code node}) or
 * rank 0 ({@code job}). A follower is the production {@link SharedFollower} (created
 * {@link SharedFollower#driven driven}: its actor calls {@link SharedFollower#pollOnce} when the
 * real pacing says, and only while some rank waits for a step, as the production worker does);
 * with {@code node} and {@code job} the leader encodes each new run of entries as a
 * {@link JobFeed} message that a {@link HandoffFeed} validates and takes, and the ranks it
 * serves read their entries from it (one feed per follower stands for its members' identical
 * feeds: CPU is not modelled; the collective that carries the message costs no store request
 * and no simulated time here). Each rank has {@code prefetch} fetchers, each issuing one ranged GET of the
 * rank's shard per step and verifying its CRC32C against the log. The trainer is synchronous
 * data parallelism: step {@code s} is consumed once every rank fetched it, {@code stepMillis}
 * after step {@code s − 1}; a rank fetches at most {@code prefetch} steps ahead of it. Producers
 * run flat out (plus {@code produceMillis} per batch), bounded by flow control
 * ({@code max_lag_steps}) against checkpoints the trainer records every
 * {@code checkpointEvery} steps.
 */
public final class ScaleSim {
    /** What to simulate. */
    public record Options(int ranks, int producers, long steps, long seed, int ranksPerNode, String layout, int prefetch,
                          long stepMillis, long produceMillis, int samplesPerRank, int seqLen, long idleSeconds,
                          int checkpointEvery, long maxLagSteps, long gcEverySeconds, S3Model.Config s3, long minPollMillis,
                          long maxPollMillis, String followers, boolean nodeFetch) {
        /** Every rank's process follows the log (a job without a process group: today's per-process follower). */
        public static final String PER_RANK = "rank";
        /** One follower per node (its first rank), handing entries to the node's ranks. */
        public static final String PER_NODE = "node";
        /** One follower for the job (rank 0), handing entries to every rank. */
        public static final String PER_JOB = "job";

        public static Options defaults(int ranks, int producers, long steps) {
            return new Options(ranks, producers, steps, 1, 8, StreamConfig.LAYOUT_PRODUCER, 4, 0, 0, 1, 16, 10, 64, 512, 30,
                    S3Model.Config.defaults(), 1, 100, PER_JOB, true);
        }

        /** The log followers' poll backoff: {@code min} ms after a version arrived, doubling to {@code max} (ReaderOptions: 2/100). */
        public Options withPolling(long min, long max) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, min, max, followers, nodeFetch);
        }

        public Options withSeed(long s) {
            return new Options(ranks, producers, steps, s, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withLayout(String l) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, l, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withPacing(long stepMs, long produceMs) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMs, produceMs, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withReaders(int perNode, int fetchers) {
            return new Options(ranks, producers, steps, seed, perNode, layout, fetchers, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withIdleSeconds(long s) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, s, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withCheckpoints(int every, long maxLag) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, every, maxLag, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        public Options withS3(S3Model.Config c) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, c, minPollMillis, maxPollMillis, followers, nodeFetch);
        }

        /** Who follows the log: {@link #PER_RANK}, {@link #PER_NODE} or {@link #PER_JOB}. */
        public Options withFollowers(String f) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, f, nodeFetch);
        }

        /**
         * Whether each node's first rank fetches the node's byte range of every step with one ranged
         * GET into a shared file its ranks read their shards from (the production {@link NodeFetcher}
         * and {@link NodeSlices}; default), or every rank reads its own shard.
         */
        public Options withNodeFetch(boolean on) {
            return new Options(ranks, producers, steps, seed, ranksPerNode, layout, prefetch, stepMillis, produceMillis, samplesPerRank,
                    seqLen, idleSeconds, checkpointEvery, maxLagSteps, gcEverySeconds, s3, minPollMillis, maxPollMillis, followers, on);
        }

        void validate() {
            if (nodeFetch && ranksPerNode > NodeFetch.MAX_LOCAL_RANKS) {
                throw new IllegalArgumentException("node fetch takes at most " + NodeFetch.MAX_LOCAL_RANKS + " ranks per node, got "
                        + ranksPerNode);
            }
            if (!List.of(PER_RANK, PER_NODE, PER_JOB).contains(followers)) {
                throw new IllegalArgumentException("followers must be rank, node or job, got '" + followers + "'");
            }
            if (ranks < 1 || producers < 1 || steps < 1 || ranksPerNode < 1 || prefetch < 1 || samplesPerRank < 1 || seqLen < 1
                    || checkpointEvery < 1 || maxLagSteps < 0 || idleSeconds < 0 || stepMillis < 0 || produceMillis < 0
                    || minPollMillis < 1 || maxPollMillis < minPollMillis) {
                throw new IllegalArgumentException("bad simulation options: " + this);
            }
        }

        int nodes() {
            return (ranks + ranksPerNode - 1) / ranksPerNode;
        }

        /** How many processes follow the log. */
        int followerCount() {
            return switch (followers) {
                case PER_RANK -> ranks;
                case PER_NODE -> nodes();
                default -> 1;
            };
        }

        /** The follower whose steps {@code rank} reads. */
        int followerOf(int rank) {
            return switch (followers) {
                case PER_RANK -> rank;
                case PER_NODE -> rank / ranksPerNode;
                default -> 0;
            };
        }

        String describeFollowers() {
            return switch (followers) {
                case PER_RANK -> "every rank follows the log (" + ranks + " followers)";
                case PER_NODE -> "one log follower per node (" + nodes() + "), entries handed to its ranks";
                default -> "one log follower per job, entries handed to every rank";
            };
        }
    }

    /** What a run measured. Times in milliseconds of simulated time. */
    public record Result(Options options, Throwable failure, long committedSteps, double stepsPerSecond, double simSeconds,
                         double wallSeconds, long events, double[] commitLatency, double[] appendToVisible, long versions,
                         double[] groupSize, long groupMax, long commits, long conflicts, long producerRestarts,
                         long readerRetries, Map<SimStore.Op, Long> requests, long throttledPut, long throttledGet,
                         S3Model.Peak putPeak, S3Model.Peak getPeak, long bucketPutPeak, long bucketGetPeak, int prefixes,
                         double logGetsPerStepPerFollower, double logGetsPerIdleSecondPerFollower, double cost,
                         double costPerMillionSteps, double[] commitCall, double consumedPerSecond, long flowWaits,
                         Map<String, long[]> roles, Map<String, long[]> families, long nodeFetchGets, long nodeFetchBytes,
                         long shardBytes, long nodeFallbacks) {
        public boolean ok() {
            return failure == null;
        }

        /** The report, last line as issue 15 asks. */
        public List<String> lines() {
            Options o = options;
            List<String> l = new ArrayList<>();
            l.add(String.format(Locale.ROOT, "simulate: %d ranks (%d nodes x %d ranks, %s, %s, %d fetchers per rank),"
                    + " %d producers, %d steps, layout %s, seed %d, store s3-model", o.ranks(), o.nodes(), o.ranksPerNode(),
                    o.describeFollowers(), o.nodeFetch() ? "one ranged GET per node per step" : "one ranged GET per rank per step",
                    o.prefetch(), o.producers(), o.steps(), o.layout(), o.seed()));
            l.add("  s3-model: " + o.s3().describe());
            l.add(String.format(Locale.ROOT, "  trainer step %d ms, producer %d ms per batch, %d samples x %d tokens per rank,"
                    + " checkpoint every %d steps, max_lag_steps %d, GC every %d s, follower poll %d..%d ms", o.stepMillis(),
                    o.produceMillis(), o.samplesPerRank(), o.seqLen(), o.checkpointEvery(), o.maxLagSteps(), o.gcEverySeconds(),
                    o.minPollMillis(), o.maxPollMillis()));
            if (failure != null) {
                l.add("  FAILED: " + failure);
            }
            l.add(String.format(Locale.ROOT, "committed steps: %d, %.1f steps/s committed, %.1f steps/s consumed (%.1f s simulated;"
                    + " wall %.1f s, %d events)", committedSteps, stepsPerSecond, consumedPerSecond, simSeconds, wallSeconds, events));
            l.add(String.format(Locale.ROOT, "commit latency (one commit call: races, retries and flow-control waits included): p50 %.0f"
                    + " ms, p99 %.0f ms; append -> committed: p50 %.0f ms, p99 %.0f ms; producer flow-control waits %d", commitCall[0],
                    commitCall[1], commitLatency[0], commitLatency[1], flowWaits));
            l.add(String.format(Locale.ROOT, "append -> visible to every rank: p50 %.0f ms, p99 %.0f ms", appendToVisible[0],
                    appendToVisible[1]));
            l.add(String.format(Locale.ROOT, "versions with batches: %d; steps per version p50 %.0f, p99 %.0f, max %d; lost races %d"
                    + " of %d commit attempts (%.1f%%); producer restarts %d; reader retries after exhausted store retries %d",
                    versions, groupSize[0], groupSize[1], groupMax, conflicts, commits + conflicts,
                    commits + conflicts == 0 ? 0.0 : 100.0 * conflicts / (commits + conflicts), producerRestarts, readerRetries));
            StringBuilder rq = new StringBuilder("requests:");
            for (SimStore.Op op : List.of(SimStore.Op.GET, SimStore.Op.RANGE, SimStore.Op.STAT, SimStore.Op.PUT,
                    SimStore.Op.PUT_IF_ABSENT, SimStore.Op.LIST_PAGE, SimStore.Op.DELETE)) {
                rq.append(' ').append(op.name()).append(' ').append(requests.getOrDefault(op, 0L));
            }
            l.add(rq + String.format(Locale.ROOT, "; 503 SlowDown: %d (PUT-class %d, GET-class %d)", throttledPut + throttledGet,
                    throttledPut, throttledGet));
            l.add(String.format(Locale.ROOT, "per prefix, max over 1-s windows (%d prefixes): PUT-class %d/s (%s), GET-class %d/s (%s);"
                    + " whole bucket: PUT-class %d/s, GET-class %d/s", prefixes, putPeak.perSecond(), putPeak.prefix(),
                    getPeak.perSecond(), getPeak.prefix(), bucketPutPeak, bucketGetPeak));
            l.add(String.format(Locale.ROOT, "log follower GET-class requests on _log/: %.2f per committed step per follower, %.2f per"
                    + " idle second per follower", logGetsPerStepPerFollower, logGetsPerIdleSecondPerFollower));
            StringBuilder rl = new StringBuilder("requests by role (all / GET-class on _log/):");
            new java.util.TreeMap<>(roles).forEach((role, c) -> rl.append(' ').append(role).append(' ').append(c[1]).append('/')
                    .append(c[0]));
            l.add(rl.toString());
            StringBuilder fl = new StringBuilder("requests by key prefix (PUT-class / GET-class / 503s):");
            new java.util.TreeMap<>(families).forEach((f, c) -> fl.append(' ').append(f).append(' ').append(c[0]).append('/')
                    .append(c[1]).append('/').append(c[2]));
            l.add(fl.toString());
            long dataGets = requests.getOrDefault(SimStore.Op.RANGE, 0L);
            if (o.nodeFetch()) {
                l.add(String.format(Locale.ROOT, "node fetch (one ranged GET per node per step, %d ranks per node): %d node GETs,"
                        + " %.2f ranged GETs per committed step in all, read amplification %.4f, %d fallbacks to a rank's own GET",
                        o.ranksPerNode(), nodeFetchGets, committedSteps == 0 ? 0.0 : (double) dataGets / committedSteps,
                        shardBytes == 0 ? 0.0 : (double) nodeFetchBytes / shardBytes, nodeFallbacks));
            } else {
                l.add(String.format(Locale.ROOT, "node fetch off: every rank reads its own shard, %.2f ranged GETs per committed step",
                        committedSteps == 0 ? 0.0 : (double) dataGets / committedSteps));
            }
            l.add(String.format(Locale.ROOT, "request cost: $%.4f for the run, $%.2f per 1M steps", cost, costPerMillionSteps));
            l.add(String.format(Locale.ROOT, "max PUT/s per prefix = %d, max GET/s per prefix = %d, 503s = %d, $ per 1M steps = %.2f",
                    putPeak.perSecond(), getPeak.perSecond(), throttledPut + throttledGet, costPerMillionSteps));
            return l;
        }
    }

    private static final long MS = 1_000_000L;

    private final Options o;
    private final SimScheduler sim;
    private final S3Model model;
    private final SimStore store;
    private final StreamConfig config;
    private final ProducerOptions producerOptions;
    private final int nodes;
    private final int followerCount; // log followers

    // Shared bookkeeping (not protocol state): touched only by the actor holding the baton.
    private final long[] visible; // per follower: steps it has seen committed (and handed over)
    private final SharedFollower[] followers;
    private final HandoffFeed[] feeds; // per node, with node or job followers: what its ranks read entries from
    private final SimScheduler.Actor[] idleFollower; // per follower: its actor while parked for want of a waiting rank
    private final long[] lowWater; // per follower: the lowest step a fetcher it serves still needs
    private final int[][] fetcherNext; // per node, per fetcher: its next step
    private final List<List<SimScheduler.Actor>> visibilityWaiters = new ArrayList<>();
    private final List<List<SimScheduler.Actor>> consumeWaiters = new ArrayList<>();
    private final int[] fetched; // per step: ranks that fetched it
    // node fetch (the production NodeFetcher / NodeSlices over real files in a temporary directory)
    private final java.nio.file.Path nodeDir;
    private final NodeFetcher[] nodeFetchers; // per node, opened by its first rank's first fetch
    private final NodeSlices[] nodeSlices; // per rank
    private final java.util.BitSet[] nodePublished; // per node: steps its fetcher published
    private final List<List<List<SimScheduler.Actor>>> nodeWaiters = new ArrayList<>(); // per node, per lane
    private long nodeFallbacks;
    private long shardBytes; // bytes of the shards the ranks needed (read amplification's denominator)
    private final long[] firstVisible;
    private final long[] lastVisible;
    private final int[] nodesSeen;
    private final Map<Long, Long> appendedAt = new HashMap<>(); // producer << 40 | seq -> append time
    private final LongList commitLatency = new LongList();
    private final LongList appendToVisible = new LongList();
    private final LongList commitCall = new LongList();
    private SimScheduler.Actor trainerActor;
    private SimScheduler.Actor conductorActor;
    private long consumed;
    private long checkpointDue;
    private boolean created;
    private boolean finished;
    private long commits;
    private long conflicts;
    private long producerRestarts;
    private long flowWaits;
    private long readerRetries;
    private long logGetsAtEnd;
    private long logGetsAfterIdle;
    private long endNanos;

    private ScaleSim(Options o) {
        o.validate();
        this.o = o;
        this.sim = new SimScheduler(o.seed());
        this.model = new S3Model(sim, o.s3());
        this.store = new SimStore(sim, new SimStore.Faults(0, 0, 0, 1, 0, 0, 1000), "s3-model").withModel(model);
        this.config = StreamConfig.of(o.ranks()).withDataLayout(o.layout()).withRetention(2, o.maxLagSteps());
        this.producerOptions = ProducerOptions.defaults().withWriteParallelism(0);
        this.nodes = o.nodes();
        this.followerCount = o.followerCount();
        this.visible = new long[followerCount];
        this.followers = new SharedFollower[followerCount];
        this.feeds = new HandoffFeed[nodes];
        this.idleFollower = new SimScheduler.Actor[followerCount];
        this.lowWater = new long[followerCount];
        this.fetcherNext = new int[nodes][];
        for (int n = 0; n < followerCount; n++) {
            visibilityWaiters.add(new ArrayList<>());
        }
        for (int j = 0; j < o.prefetch(); j++) {
            consumeWaiters.add(new ArrayList<>());
        }
        int steps = Math.toIntExact(o.steps());
        this.fetched = new int[steps];
        this.firstVisible = new long[steps];
        this.lastVisible = new long[steps];
        this.nodesSeen = new int[steps];
        this.nodeFetchers = new NodeFetcher[nodes];
        this.nodeSlices = new NodeSlices[o.ranks()];
        this.nodePublished = new java.util.BitSet[nodes];
        for (int n = 0; n < nodes; n++) {
            nodePublished[n] = new java.util.BitSet();
            List<List<SimScheduler.Actor>> lanes = new ArrayList<>();
            for (int j = 0; j < o.prefetch(); j++) {
                lanes.add(new ArrayList<>());
            }
            nodeWaiters.add(lanes);
        }
        try {
            java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
            this.nodeDir = !o.nodeFetch() ? null : java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm)
                    ? java.nio.file.Files.createTempDirectory(shm, "lakestream-sim") : java.nio.file.Files.createTempDirectory("lakestream-sim");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Runs one simulation. */
    public static Result run(Options o) {
        return new ScaleSim(o).go();
    }

    private Result go() {
        long t0 = System.nanoTime();
        sim.spawn("creator", 0, self -> {
            StreamEnv env = env(self);
            ObjectStore s = store(self, env);
            while (true) {
                try {
                    s.putIfAbsent(StreamConfig.KEY, Json.write(config)); // creating a stream (docs/format.md §3)
                    break;
                } catch (StoreException e) {
                    sleep(env, 50);
                }
            }
            created = true;
            for (int i = 0; i < o.producers(); i++) {
                final int p = i;
                sim.spawn("producer-" + i, self.random().nextLong(0, 20) * MS, me -> producer(me, p));
            }
            for (int g = 0; g < followerCount; g++) {
                final int group = g;
                sim.spawn("follower-" + g, self.random().nextLong(0, 20) * MS, me -> follower(me, group));
            }
        });
        for (int n = 0; n < nodes; n++) {
            int first = n * o.ranksPerNode();
            int count = Math.min(o.ranksPerNode(), o.ranks() - first);
            fetcherNext[n] = new int[count * o.prefetch()];
            for (int r = 0; r < count; r++) {
                for (int j = 0; j < o.prefetch(); j++) {
                    final int node = n;
                    final int rank = first + r;
                    final int lane = j;
                    final int slot = r * o.prefetch() + j;
                    fetcherNext[n][slot] = j;
                    sim.spawn("rank-" + rank + "." + j, 0, me -> fetcher(me, node, rank, lane, slot));
                }
            }
        }
        trainerActor = sim.spawn("trainer", 0, this::trainer);
        sim.spawn("checkpointer", 0, this::checkpointer);
        sim.spawn("gc", o.gcEverySeconds() * 1000 * MS, this::gc);
        conductorActor = sim.spawn("conductor", 0, this::conductor);
        Throwable f;
        try {
            f = sim.run(Long.MAX_VALUE, Long.MAX_VALUE);
        } finally {
            closeNodeFetch();
        }
        if (f == null && !finished) {
            f = new AssertionError("the run stopped before every step was consumed: consumed " + consumed + " of " + o.steps()
                    + " steps, followers see " + Arrays.toString(Arrays.copyOf(visible, Math.min(followerCount, 8))));
        }
        return result(f, (System.nanoTime() - t0) / 1e9);
    }

    private StreamEnv env(SimScheduler.Actor self) {
        return new StreamEnv(new SimClock(sim), FailPoints.none()).withRandom(self.random());
    }

    private ObjectStore store(SimScheduler.Actor self, StreamEnv env) {
        return SimProcess.store(store, self, env);
    }

    private static void sleep(StreamEnv env, long millis) {
        SimProcess.sleep(env, millis);
    }

    // ---------------------------------------------------------------- producers

    private long stepsOf(int p) {
        return o.steps() / o.producers() + (p < o.steps() % o.producers() ? 1 : 0);
    }

    private void producer(SimScheduler.Actor self, int p) {
        StreamEnv env = env(self);
        long[] dataPutEnd = new long[1]; // when this producer's last batch-object write returned
        io.lakestream.testkit.HookStore s = new io.lakestream.testkit.HookStore(store(self, env));
        s.afterPutIfAbsent = key -> {
            if (key.startsWith(StreamLayout.DATA_PREFIX)) {
                dataPutEnd[0] = sim.nowNanos();
            }
        };
        int batch = o.ranks() * o.samplesPerRank();
        // each producer its own source of stepsOf(p) full global batches (exactly-once is ProtocolSim's to check)
        long mine = stepsOf(p) * batch;
        SyntheticSource src = new SyntheticSource(mine, o.seed() * 1_000 + p, 0, 1, o.seqLen());
        String id = "p" + p;
        while (true) {
            TgbProducer prod = null;
            try {
                prod = TgbProducer.open(s, id, config, producerOptions, env);
                long resume = SyntheticSource.parseCursor(prod.committedCursor());
                long next = resume < 0 ? src.startIndex() : resume;
                long done = resume < 0 ? 0 : resume;
                long seenCommits = 0;
                long seenConflicts = 0;
                long committedSeq = prod.committedSeq();
                while (done < mine) {
                    long[] ids = src.take(next, (int) Math.min(batch, mine - done));
                    if (ids.length == 0) {
                        break;
                    }
                    if (o.produceMillis() > 0) {
                        sleep(env, o.produceMillis());
                    }
                    next = src.after(ids[ids.length - 1]);
                    done += ids.length;
                    long seq = prod.committedSeq() + prod.pendingCount() + 1;
                    appendedAt.put(((long) p << 40) | seq, sim.nowNanos());
                    long before = prod.commits();
                    prod.append(src.globalBatch(ids, o.ranks()), SyntheticSource.cursor(next));
                    if (prod.commits() > before) {
                        commitCall.add(sim.nowNanos() - dataPutEnd[0]); // the commit ran after the batch's object write
                    }
                    committedSeq = noteCommits(p, prod, committedSeq);
                    commits += prod.commits() - seenCommits;
                    conflicts += prod.conflicts() - seenConflicts;
                    seenCommits = prod.commits();
                    seenConflicts = prod.conflicts();
                }
                long started = sim.nowNanos();
                if (prod.commit() != null) {
                    commitCall.add(sim.nowNanos() - started);
                }
                noteCommits(p, prod, committedSeq);
                commits += prod.commits() - seenCommits;
                conflicts += prod.conflicts() - seenConflicts;
                flowWaits += prod.flowWaits();
                prod.close();
                return;
            } catch (StoreException | CommitStateUnknownException | IllegalStateException e) {
                // what a supervisor does: a new instance (next epoch) resumes from the committed cursor
                producerRestarts++;
                sim.trace(self + " restarts: " + e.getMessage());
                if (prod != null) {
                    flowWaits += prod.flowWaits();
                    prod.close();
                }
                sleep(env, 1000);
            }
        }
    }

    /** Commit latencies of the batches that became committed since {@code before}; returns the producer's committed seq. */
    private long noteCommits(int p, TgbProducer prod, long before) {
        long now = sim.nowNanos();
        for (long seq = before + 1; seq <= prod.committedSeq(); seq++) {
            Long at = appendedAt.get(((long) p << 40) | seq);
            if (at != null) {
                commitLatency.add(now - at);
            }
        }
        return prod.committedSeq();
    }

    // ---------------------------------------------------------------- readers

    /** The nodes whose ranks a follower serves. */
    private int[] nodesOf(int g) {
        return switch (o.followers()) {
            case Options.PER_JOB -> java.util.stream.IntStream.range(0, nodes).toArray();
            case Options.PER_NODE -> new int[] {g};
            default -> new int[] {g / o.ranksPerNode()};
        };
    }

    /** Whether a rank served by follower {@code g} waits for a step not seen yet (the only time a follower polls). */
    private boolean someoneWaits(int g) {
        return !visibilityWaiters.get(g).isEmpty() || consumed >= o.steps(); // after the run: readers wait for more
    }

    /** A log follower: the production one, polled when its pacing says while some rank it serves waits. */
    private void follower(SimScheduler.Actor self, int g) {
        StreamEnv env = env(self);
        ObjectStore s = store(self, env);
        long minPoll = o.minPollMillis() * MS;
        io.lakestream.reader.ReaderOptions ro = io.lakestream.reader.ReaderOptions.defaults();
        ro = new io.lakestream.reader.ReaderOptions(ro.prefetch(), ro.poolSlabBytes(), o.minPollMillis(), o.maxPollMillis(),
                ro.stepStride());
        SharedFollower f = null;
        long lastPoll = 0;
        long nextPoll = 0;
        boolean idle = true;
        while (!finished) {
            try {
                if (f == null) {
                    f = SharedFollower.driven(s, env);
                    f.subscribe(0, ro); // carries the poll bounds; the tail is trimmed below by publish()
                    followers[g] = f;
                    lastPoll = sim.nowNanos();
                    publish(g, f);
                    continue;
                }
                if (!someoneWaits(g)) {
                    idleFollower[g] = self;
                    sim.park();
                    idleFollower[g] = null;
                    idle = true;
                    continue;
                }
                long now = sim.nowNanos();
                if (idle) {
                    // as FollowerSubscription.await: a first waiter makes an idle follower look
                    // now, or one min interval after its last look
                    nextPoll = Math.max(now, lastPoll + minPoll);
                    idle = false;
                }
                if (now < nextPoll) {
                    sim.await(nextPoll - now);
                    continue;
                }
                nextPoll = f.pollOnce(now);
                lastPoll = sim.nowNanos();
                publish(g, f);
            } catch (StoreException e) {
                readerRetries++;
                sleep(env, 1000);
            }
        }
    }

    /**
     * What follower {@code g} saw, made visible to the ranks it serves: with node or job followers
     * as a {@link JobFeed} message each node's {@link HandoffFeed} takes (validating every entry).
     */
    private void publish(int g, SharedFollower f) {
        ManifestLog log = f.log();
        int[] served = nodesOf(g);
        long low = Long.MAX_VALUE;
        for (int n : served) {
            for (int next : fetcherNext[n]) {
                low = Math.min(low, next);
            }
        }
        HandoffFeed feed = feeds[served[0]];
        if (feed != null && low < Long.MAX_VALUE) {
            feed.position(low);
        }
        if (low > lowWater[g] && low < Long.MAX_VALUE) {
            lowWater[g] = low;
            log.forgetBefore(Math.min(low, visible[g])); // the ranks it serves need nothing older
        }
        ManifestState st = log.state();
        long committed = Math.min(st.committedSteps(), o.steps());
        if (committed <= visible[g]) {
            return;
        }
        long now = sim.nowNanos();
        if (!Options.PER_RANK.equals(o.followers())) {
            List<byte[]> entries = new ArrayList<>();
            for (long step = visible[g]; step < committed; step++) {
                entries.add(EntryWire.encode(log.entry(step)));
            }
            byte[] message = JobFeed.encode(visible[g], entries, -1, null);
            if (feed == null) {
                // One feed per follower: every rank's feed would take the same message the same way,
                // and decoding it once per rank would only cost CPU (which the simulation does not model).
                feed = new HandoffFeed(store.describe(), o.ranks(), 0, new StreamEnv(new SimClock(sim), FailPoints.none()));
                for (int n : served) {
                    feeds[n] = feed;
                }
            }
            feed.accept(message);
        }
        for (long step = visible[g]; step < committed; step++) {
            int i = (int) step;
            if (nodesSeen[i]++ == 0) {
                firstVisible[i] = now;
            }
            if (nodesSeen[i] == followerCount) {
                lastVisible[i] = now;
                TgbEntry e = log.entry(step);
                Long at = appendedAt.get(((long) Integer.parseInt(e.producer().substring(1)) << 40) | e.seq());
                if (at != null) {
                    appendToVisible.add(now - at);
                }
            }
        }
        visible[g] = committed;
        List<SimScheduler.Actor> w = visibilityWaiters.get(g);
        for (SimScheduler.Actor a : w) {
            sim.unpark(a);
        }
        w.clear();
    }

    private void fetcher(SimScheduler.Actor self, int node, int rank, int lane, int slot) {
        StreamEnv env = env(self);
        ObjectStore s = store(self, env);
        int k = o.prefetch();
        int g = o.followerOf(rank);
        for (long step = lane; step < o.steps(); ) {
            fetcherNext[node][slot] = (int) step;
            if (step >= visible[g]) {
                visibilityWaiters.get(g).add(self);
                if (idleFollower[g] != null) {
                    sim.unpark(idleFollower[g]); // as a reader's await wakes an idle follower
                }
                sim.park();
                continue;
            }
            if (step >= consumed + k) {
                consumeWaiters.get(lane).add(self);
                sim.park();
                continue;
            }
            TgbEntry e = Options.PER_RANK.equals(o.followers()) ? followers[g].log().entry(step) : feeds[node].entry(step);
            ShardEntry sh = e.shards().get(rank);
            if (o.nodeFetch()) {
                int local = rank - node * o.ranksPerNode();
                if (local == 0) {
                    try {
                        nodeFetcher(node, env).publish(s, step, e); // one ranged GET of the node's shards
                    } catch (StoreException ex) {
                        readerRetries++;
                        sleep(env, 1000);
                        continue;
                    }
                    nodePublished[node].set((int) step);
                    List<SimScheduler.Actor> w = nodeWaiters.get(node).get(lane);
                    for (SimScheduler.Actor a : w) {
                        sim.unpark(a);
                    }
                    w.clear();
                } else if (!nodePublished[node].get((int) step)) {
                    nodeWaiters.get(node).get(lane).add(self);
                    sim.park();
                    continue;
                }
                NodeSlice slice;
                try {
                    slice = nodeSlices(node, rank, env).tryAcquire(step, e, rank); // maps the shard, checks its CRC32C
                } catch (NodeFetchFailedException ex) {
                    sim.fail("step " + step + " rank " + rank + ": " + ex.getMessage());
                    return;
                }
                if (slice != null) {
                    slice.close();
                } else {
                    nodeFallbacks++; // the node's file is gone (out of the window): the rank reads its shard itself
                    if (!ownRead(s, env, e, sh, step, rank)) {
                        continue;
                    }
                }
            } else if (!ownRead(s, env, e, sh, step, rank)) {
                continue;
            }
            shardBytes += sh.length();
            if (++fetched[(int) step] == o.ranks()) {
                sim.unpark(trainerActor);
            }
            step += k;
        }
        fetcherNext[node][slot] = Integer.MAX_VALUE;
    }

    /** One ranged GET of the rank's shard, CRC32C-checked; false after a store failure (the caller retries). */
    private boolean ownRead(ObjectStore s, StreamEnv env, TgbEntry e, ShardEntry sh, long step, int rank) {
        MemorySegment dst = MemorySegment.ofArray(new byte[(int) sh.length()]);
        try {
            s.readRange(e.object(), sh.offset(), dst);
        } catch (StoreException ex) {
            readerRetries++;
            sleep(env, 1000);
            return false;
        }
        if (Crc32c.of(dst) != sh.crc32c()) {
            sim.fail("step " + step + " rank " + rank + ": checksum mismatch against the log's shard table");
        }
        return true;
    }

    private NodeFetch nodeFetch(int node, int local) {
        int count = Math.min(o.ranksPerNode(), o.ranks() - node * o.ranksPerNode());
        // no wait bound: the simulation's ranks look for a step's file only once its fetcher published it
        // (tryAcquire), and a closing fetcher then needs no grace on a clock outside the simulation
        return NodeFetch.of(local, count).withDir(nodeDir).withJobKey("sim-" + o.seed()).withKeepSteps(4 * o.prefetch())
                .withWaitMillis(0);
    }

    private NodeFetcher nodeFetcher(int node, StreamEnv env) {
        if (nodeFetchers[node] == null) {
            nodeFetchers[node] = NodeFetcher.open(store, nodeFetch(node, 0), node * o.ranksPerNode(), o.ranks(), 0, env);
        }
        return nodeFetchers[node];
    }

    private NodeSlices nodeSlices(int node, int rank, StreamEnv env) {
        if (nodeSlices[rank] == null) {
            int first = node * o.ranksPerNode();
            nodeSlices[rank] = new NodeSlices(store.describe(), nodeFetch(node, rank - first), first, o.ranks(), env.clock());
        }
        return nodeSlices[rank];
    }

    private void closeNodeFetch() {
        for (NodeSlices n : nodeSlices) {
            if (n != null) {
                n.close();
            }
        }
        for (NodeFetcher f : nodeFetchers) {
            if (f != null) {
                f.close();
            }
        }
        if (nodeDir != null) {
            try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.walk(nodeDir)) {
                for (java.nio.file.Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    java.nio.file.Files.deleteIfExists(p);
                }
            } catch (java.io.IOException e) {
                // a temporary directory: best effort
            }
        }
    }

    /** Synchronous data parallelism: step s is consumed once every rank has it, a step time after s − 1. */
    private void trainer(SimScheduler.Actor self) {
        StreamEnv env = env(self);
        for (long step = 0; step < o.steps(); step++) {
            while (fetched[(int) step] < o.ranks()) {
                sim.park();
            }
            if (o.stepMillis() > 0) {
                sleep(env, o.stepMillis());
            }
            consumed = step + 1;
            if (consumed % o.checkpointEvery() == 0) {
                checkpointDue = consumed;
            }
            List<SimScheduler.Actor> w = consumeWaiters.get((int) (step % o.prefetch()));
            for (SimScheduler.Actor a : w) {
                sim.unpark(a);
            }
            w.clear();
        }
        sim.unpark(conductorActor);
    }

    /** Records the trainer's checkpoints in the log (flow control and GC's floor depend on them). */
    private void checkpointer(SimScheduler.Actor self) {
        StreamEnv env = env(self);
        ObjectStore s = store(self, env);
        long recorded = 0;
        ManifestLog log = null;
        while (!finished) {
            sleep(env, 100);
            if (checkpointDue <= recorded || !created) {
                continue;
            }
            try {
                if (log == null) {
                    log = ManifestLog.open(s, env);
                }
                long c = checkpointDue;
                Checkpoints.record(log, c, "ckpt-" + c);
                recorded = c;
            } catch (StoreException | CommitStateUnknownException e) {
                log = null;
            }
        }
    }

    private void gc(SimScheduler.Actor self) {
        StreamEnv env = env(self);
        ObjectStore s = store(self, env);
        while (!finished) {
            try {
                new GarbageCollector(ManifestLog.open(s, env)).run(false);
            } catch (StoreException | CommitStateUnknownException e) {
                // the next pass retries
            }
            sleep(env, o.gcEverySeconds() * 1000);
        }
    }

    /** Waits for the last step to be consumed, then lets the followers idle, measuring their GETs. */
    private void conductor(SimScheduler.Actor self) {
        StreamEnv env = env(self);
        while (consumed < o.steps()) {
            sim.park();
        }
        endNanos = sim.nowNanos();
        logGetsAtEnd = followerLogGets();
        for (SimScheduler.Actor a : idleFollower) {
            if (a != null) {
                sim.unpark(a); // the readers now wait for steps that do not come: the followers poll
            }
        }
        sleep(env, o.idleSeconds() * 1000);
        logGetsAfterIdle = followerLogGets();
        finished = true;
    }

    private long followerLogGets() {
        long[] c = model.byRole().get("follower");
        return c == null ? 0 : c[0];
    }

    // ---------------------------------------------------------------- the report

    private Result result(Throwable f, double wallSeconds) {
        long committed = 0;
        long lastCommit = 0;
        for (int i = 0; i < fetched.length; i++) {
            if (nodesSeen[i] > 0) {
                committed = i + 1;
                lastCommit = Math.max(lastCommit, firstVisible[i]);
            }
        }
        double simSeconds = (endNanos > 0 ? endNanos : sim.nowNanos()) / 1e9;
        double rate = lastCommit == 0 ? 0 : committed / (lastCommit / 1e9);
        // group sizes from the log itself (the versions are all still there: log GC waits for the log grace)
        LongList groups = new LongList();
        long groupMax = 0;
        for (Map.Entry<String, Integer> e : store.snapshot().entrySet()) {
            if (StreamLayout.parse(e.getKey()) instanceof StreamLayout.Version) {
                byte[] b = store.peek(e.getKey());
                if (VersionTombstone.is(b)) {
                    continue;
                }
                int n = Json.read(b, io.lakestream.log.VersionFile.class, e.getKey()).tgbs().size();
                if (n > 0) {
                    groups.add(n);
                    groupMax = Math.max(groupMax, n);
                }
            }
        }
        Map<SimStore.Op, Long> requests = new java.util.EnumMap<>(SimStore.Op.class);
        for (SimStore.Op op : SimStore.Op.values()) {
            requests.put(op, model.offered(op));
        }
        double perStep = committed == 0 ? 0 : (double) logGetsAtEnd / committed / followerCount;
        double perIdle = o.idleSeconds() == 0 ? 0 : (double) (logGetsAfterIdle - logGetsAtEnd) / o.idleSeconds() / followerCount;
        double cost = model.cost();
        double consumedRate = endNanos == 0 ? 0 : consumed / (endNanos / 1e9);
        return new Result(o, f, committed, rate, simSeconds, wallSeconds, sim.events(), commitLatency.percentilesMillis(),
                appendToVisible.percentilesMillis(), groups.size(), groups.percentiles(), groupMax, commits, conflicts,
                producerRestarts, readerRetries, requests, model.refused(S3Model.RateClass.PUT), model.refused(S3Model.RateClass.GET),
                model.peak(S3Model.RateClass.PUT), model.peak(S3Model.RateClass.GET), model.bucketPeak(S3Model.RateClass.PUT),
                model.bucketPeak(S3Model.RateClass.GET), model.prefixes(), perStep, perIdle, cost,
                committed == 0 ? 0 : cost / committed * 1e6, commitCall.percentilesMillis(), consumedRate, flowWaits,
                Map.copyOf(model.byRole()), Map.copyOf(model.byFamily()), nodeGets(), nodeBytes(), shardBytes, nodeFallbacks);
    }

    private long nodeGets() {
        long n = 0;
        for (NodeFetcher f : nodeFetchers) {
            n += f == null ? 0 : f.gets();
        }
        return n;
    }

    private long nodeBytes() {
        long n = 0;
        for (NodeFetcher f : nodeFetchers) {
            n += f == null ? 0 : f.bytesRead();
        }
        return n;
    }

    /** A growable list of longs with percentiles. */
    private static final class LongList {
        private long[] v = new long[1024];
        private int n;

        void add(long x) {
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = x;
        }

        int size() {
            return n;
        }

        double[] percentiles() {
            if (n == 0) {
                return new double[] {0, 0};
            }
            long[] s = Arrays.copyOf(v, n);
            Arrays.sort(s);
            return new double[] {s[(int) Math.min(n - 1, Math.round(0.50 * (n - 1)))], s[(int) Math.min(n - 1, Math.round(0.99 * (n - 1)))]};
        }

        double[] percentilesMillis() {
            double[] p = percentiles();
            return new double[] {p[0] / 1e6, p[1] / 1e6};
        }
    }
}
