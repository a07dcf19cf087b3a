package io.lakestream.testkit.sim;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.RetryPolicy;
import io.lakestream.store.RetryingStore;
import io.lakestream.store.StoreException;
import io.lakestream.store.StreamNotFoundException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The Lakestream protocol under deterministic simulation: producers (crashed and restarted,
 * zombies paused past the log grace and resumed), rank readers (the production {@link RankReader}
 * with its shared follower and prefetch threads, paused, restored from a checkpoint; in half the
 * seeds one more, elastic, of another world size), a trainer recording checkpoints, and GC, all
 * running the real code, each process's threads on the simulation's ({@link SimThreads}), against one
 * {@link SimStore} with latencies, failures, lost replies and interleaved LIST pages, each
 * process with its own skewed clock. Invariants are checked as the run goes and at its end:
 * <ul>
 *   <li>every reader maps a step to the same batch (the object named by producer, epoch and seq)
 *       and the same shard bytes (delivered: checked and decoded) as every other reader and as
 *       its own earlier reads;</li>
 *   <li>steps are gap-free (the log checks it on every apply; a reader sees each step once, in
 *       order, unless it restores);</li>
 *   <li>an elastic reader reads each record at the step the stream's ranks read it;</li>
 *   <li>every source record is committed exactly once;</li>
 *   <li>nothing a reader at or above the floor needs is deleted;</li>
 *   <li>no exception surfaces but the documented ones (fenced, below floor, commit state
 *       unknown, store failures, a reader's timeout), each handled as a real process would.</li>
 * </ul>
 * A run is a function of its seed: {@link #run(long, boolean)} twice gives the same result.
 */
public final class ProtocolSim {
    /** What one seed did. */
    public record Result(long seed, Throwable failure, String failureActor, String config, long storeOps, long events,
                         long steps, long records, int crashes, int zombies, int pauses, int restores, int reopens, int gcRuns,
                         int checkpoints, long simMillis, long traceHash) {
        public boolean ok() {
            return failure == null;
        }

        public String replay() {
            return "scripts/dst --seeds 1 --from " + seed + " --trace";
        }

        public String line() {
            return "seed " + seed + (ok() ? " ok" : " FAILED in " + failureActor + ": " + failure) + " [" + config + "; " + steps
                    + " steps, " + records + " records, " + storeOps + " store ops, " + crashes + " crashes, " + zombies + " zombies, "
                    + pauses + " pauses, " + restores + " restores, " + reopens + " reader reopens, " + gcRuns + " GC runs, "
                    + checkpoints + " checkpoints, " + simMillis + " ms simulated]";
        }
    }

    private static final long MS = 1_000_000L;

    private final long seed;
    private final SimScheduler sim;
    private final SimStore store;
    private final SplittableRandom plan;
    private final int worldSize;
    private final int producers;
    private final int microBatch;
    private final long records;
    private final StreamConfig config;
    private final ProducerOptions producerOptions;
    private final long logGraceMillis;
    private final String configLine;

    // Bookkeeping of the test (not protocol state): shared by actors, touched only while holding the baton.
    private final boolean[] sourceDone;
    private final int[] incarnation;
    private final SimScheduler.Actor[] liveProducer;
    /** The committer and writer actors of each producer's live incarnation: its process's other threads. */
    private final SimThreads[] liveThreads;
    /** Each reader's next step: ranks 0..W-1, then the elastic rank if there is one. */
    private final long[] readerNext;
    private final SimScheduler.Actor[] readers;
    /** The elastic reader's world size (0: none) and rank; it is reader number {@link #worldSize}. */
    private final int elasticWorldSize;
    private final int elasticRank;
    private final int readerCount;
    /** Record id -> step, as the elastic reader saw it: each must be the step a rank of the stream's world size saw it at. */
    private final Map<Long, Long> elasticRecordStep = new HashMap<>();
    /** Each rank's process: its reader's follower, dispatcher and fetch threads. */
    private final SimThreads[] readerThreads;
    private final ReaderOptions[] readerOptions;
    private final RetryPolicy readerRetries;
    private final boolean[] restoreRequested;
    private final Map<Long, String> stepBatch = new HashMap<>();
    private final Map<Long, Long> shardCrc = new HashMap<>(); // (step * 1024 + rank) -> crc of the stored shard
    private final TreeMap<Long, Long> recordStep = new TreeMap<>(); // record id -> step it was read at
    private long latestCheckpoint;
    private long finalSteps = -1;
    private boolean finished;
    private int crashes;
    private int zombies;
    private int pauses;
    private int restores;
    private int reopens;
    private int gcRuns;
    private int checkpoints;

    private ProtocolSim(long seed) {
        this.seed = seed;
        this.sim = new SimScheduler(seed);
        this.plan = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
        this.worldSize = 1 + plan.nextInt(3);
        this.producers = 1 + plan.nextInt(3);
        this.microBatch = 1 + plan.nextInt(2);
        this.records = producers * (4L + plan.nextInt(20));
        int snapshotInterval = 2 + plan.nextInt(4);
        int segmentSteps = 2 + plan.nextInt(3);
        int keep = 1 + plan.nextInt(3);
        long maxLag = plan.nextInt(3) == 0 ? 0 : 3 + plan.nextInt(8);
        this.logGraceMillis = 1_000 + plan.nextInt(3_000);
        this.config = StreamConfig.of(worldSize).withSnapshotInterval(snapshotInterval).withIndexSegmentSteps(segmentSteps)
                .withRetention(keep, maxLag).withLogGraceMs(logGraceMillis).withOrphanGraceMs(50);
        int group = 1 + plan.nextInt(3);
        // The production configuration: a committer worker, the default writers, snapshots written in the background.
        // Half the seeds compress the shards (LZ4), so the readers decode them.
        Codec codec = plan.nextBoolean() ? Codec.LZ4 : Codec.NONE;
        this.producerOptions = ProducerOptions.defaults().withGroup(group, 8, plan.nextBoolean()).withCodec(codec);
        SimStore.Faults faults = plan.nextInt(4) == 0 ? SimStore.Faults.none() : SimStore.Faults.s3Like();
        this.store = new SimStore(sim, faults, "s" + seed).withStoreClockSkew(plan.nextLong(-200, 200));
        this.sourceDone = new boolean[producers];
        this.incarnation = new int[producers];
        this.liveProducer = new SimScheduler.Actor[producers];
        this.liveThreads = new SimThreads[producers];
        // Half the seeds add a reader of a resized job: rank k of another world size, which splits
        // each step's samples over its own ranks (RankReader.openElastic, ranged reads of parts of shards).
        if (plan.nextBoolean()) {
            int w = 1 + plan.nextInt(worldSize + 2);
            this.elasticWorldSize = w == worldSize ? worldSize + 2 : w;
            this.elasticRank = plan.nextInt(elasticWorldSize);
        } else {
            this.elasticWorldSize = 0;
            this.elasticRank = -1;
        }
        this.readerCount = worldSize + (elasticWorldSize > 0 ? 1 : 0);
        this.readerNext = new long[readerCount];
        this.readers = new SimScheduler.Actor[readerCount];
        this.readerThreads = new SimThreads[readerCount];
        this.readerOptions = new ReaderOptions[readerCount];
        // A third of the faulty seeds give the readers no retries (RetryPolicy.none()), so store
        // failures outlive the retries and the readers' error paths run: a fetch's failure thrown
        // by next(), a follower's failed poll handed to the waiting reader; the rank reopens.
        this.readerRetries = faults.failProbability() > 0 && plan.nextInt(3) == 0
                ? RetryPolicy.none() : RetryPolicy.defaults();
        StringBuilder prefetch = new StringBuilder();
        for (int r = 0; r < readerCount; r++) {
            readerThreads[r] = new SimThreads(sim, readerName(r));
            // the defaults but a smaller slab (shards here are a few KB); prefetch 1..4 (4 is the default)
            readerOptions[r] = new ReaderOptions(1 + plan.nextInt(4), 64 << 10, ReaderOptions.defaults().minPollMillis(),
                    ReaderOptions.defaults().maxPollMillis());
            prefetch.append(r == 0 ? "" : ",").append(readerOptions[r].prefetch());
        }
        this.restoreRequested = new boolean[readerCount];
        this.configLine = "W=" + worldSize + " P=" + producers + " B=" + microBatch + " records=" + records + " snap=" + snapshotInterval
                + " seg=" + segmentSteps + " codec=" + codec.id() + " keep=" + keep + " maxLag=" + maxLag + " group=" + group + " faults="
                + (faults.failProbability() > 0 ? "s3" : "none") + " grace=" + logGraceMillis + "ms prefetch=" + prefetch
                + (elasticWorldSize > 0 ? " elastic=" + elasticRank + "/" + elasticWorldSize : "")
                + (readerRetries.maxAttempts() < RetryPolicy.DEFAULT_MAX_ATTEMPTS ? " readerRetries=" + readerRetries.maxAttempts() : "");
    }

    /** Runs one seed. {@code trace} prints every store operation and scheduling decision. */
    public static Result run(long seed, boolean trace) {
        return new ProtocolSim(seed).go(trace);
    }

    private Result go(boolean trace) {
        if (trace) {
            sim.onTrace(System.out::println);
        }
        long[] producerDelays = new long[producers];
        for (int i = 0; i < producers; i++) {
            producerDelays[i] = plan.nextLong(0, 20) * MS;
        }
        // The stream is created first, without the store probe (it races real threads; the
        // simulated store's put-if-absent is atomic by construction); producers start after.
        sim.spawn("creator", 0, self -> {
            StreamEnv env = env(self, 0);
            ObjectStore store = store(self, env);
            while (true) {
                try {
                    // creating a stream = put-if-absent of its config (docs/format.md §3)
                    store.putIfAbsent(StreamConfig.KEY, io.lakestream.format.Json.write(config));
                    break;
                } catch (StoreException e) {
                    sleep(env, 5);
                }
            }
            for (int i = 0; i < producers; i++) {
                startProducer(i, producerDelays[i]);
            }
        });
        for (int r = 0; r < readerCount; r++) {
            final int rank = r;
            readers[r] = sim.spawn(readerName(r), plan.nextLong(0, 50) * MS, self -> reader(self, rank));
        }
        sim.spawn("trainer", 10 * MS, this::trainer);
        sim.spawn("gc", 50 * MS, this::gc);
        sim.spawn("chaos", 30 * MS, this::chaos);
        sim.spawn("verifier", 0, this::verifier);
        Throwable f = sim.run(600_000 * MS, 2_000_000);
        if (f == null && !finished) {
            f = new AssertionError("no progress: the run stopped after " + sim.events() + " events and " + sim.nowNanos() / MS
                    + " simulated ms without finishing (producers done " + java.util.Arrays.toString(sourceDone) + ", readers at "
                    + java.util.Arrays.toString(readerNext) + ")");
        }
        return new Result(seed, f, sim.failureActor(), configLine, store.operations(), sim.events(), Math.max(0, finalSteps),
                recordStep.size(), crashes, zombies, pauses, restores, reopens, gcRuns, checkpoints, sim.nowNanos() / MS, sim.traceHash());
    }

    private StreamEnv env(SimScheduler.Actor self, long maxSkewMillis) {
        long skew = maxSkewMillis == 0 ? 0 : self.random().nextLong(-maxSkewMillis, maxSkewMillis + 1);
        SimClock clock = new SimClock(sim, skew, 1.0 + (self.random().nextDouble() - 0.5) * 2e-4);
        return new StreamEnv(clock, FailPoints.none()).withRandom(self.random());
    }

    /** The store as a process sees it: the shared simulated store behind that process's own retry layer. */
    private ObjectStore store(SimScheduler.Actor self, StreamEnv env) {
        return SimProcess.store(store, self, env);
    }

    private static void sleep(StreamEnv env, long millis) {
        SimProcess.sleep(env, millis);
    }

    // ---------------------------------------------------------------- producers

    private void startProducer(int i, long delayNanos) {
        int inc = ++incarnation[i];
        SimThreads threads = new SimThreads(sim, "p" + i + "." + inc);
        liveThreads[i] = threads;
        liveProducer[i] = sim.spawn("p" + i + "." + inc, delayNanos, self -> producer(self, i, inc, threads));
    }

    private void producer(SimScheduler.Actor self, int i, int inc, SimThreads threads) throws Exception {
        StreamEnv env = env(self, logGraceMillis / 8).withThreads(threads);
        ObjectStore store = store(self, env);
        SyntheticSource src = new SyntheticSource(records, seed, i, producers, 2);
        boolean restart = false;
        try (TgbProducer p = TgbProducer.open(store, "p" + i, config, producerOptions, env)) {
            long resume = SyntheticSource.parseCursor(p.committedCursor());
            long next = resume < 0 ? src.startIndex() : resume;
            while (true) {
                long[] ids = src.take(next, worldSize * microBatch);
                if (ids.length == 0) {
                    p.commit();
                    // Whichever incarnation commits the last batch (even a zombie that claimed the
                    // newest epoch before it froze: it is the live instance then) finished the source.
                    sourceDone[i] = true;
                    return;
                }
                next = src.after(ids[ids.length - 1]);
                p.append(src.globalBatch(ids, worldSize), SyntheticSource.cursor(next));
            }
        } catch (ProducerFencedException e) {
            // A newer epoch exists: this instance stops. Not necessarily an older incarnation: a
            // zombie frozen before its epoch claim landed claims a newer epoch when it wakes up
            // and is the live instance from then on.
            sim.trace(self + " fenced: " + e.getMessage());
        } catch (CommitStateUnknownException | StoreException e) {
            // What a supervisor does: restart the producer; it resumes from the committed cursor.
            sim.trace(self + " failed (" + e.getClass().getSimpleName() + "), restarting: " + e.getMessage());
            restart = true;
        }
        if (restart && !sourceDone[i]) {
            startProducer(i, (10 + self.random().nextLong(50)) * MS);
        }
    }

    // ---------------------------------------------------------------- readers

    /**
     * A rank: the production {@link RankReader} (its own follower of the log, the
     * dispatcher and fetch threads of its prefetcher, the fetch's ranged read, CRC32C check and
     * LZ4 decode, its pool) on this process's simulated threads and clock. It consumes steps as a
     * training loop does: {@code next(timeout)}, check the batch, close it. Paused with its whole
     * process; restored from the latest checkpoint by closing its reader and opening a new one at
     * the checkpoint step, as a restarted rank does. Every rank is a RankReader (none is left on a
     * hand-rolled read path). Each batch is closed before the next {@code next()}, so a fetch never
     * waits for a pool slab: that wait ({@link io.lakestream.memory.PinnedPool}) is a real one, not
     * on the env's threads, and would stop the run (the scheduler's watchdog names it).
     */
    private void reader(SimScheduler.Actor self, int rank) {
        SimThreads threads = readerThreads[rank];
        StreamEnv env = env(self, logGraceMillis / 8).withThreads(threads);
        ObjectStore store = new RetryingStore(this.store, readerRetries, env.clock(), self.random());
        ReaderOptions options = readerOptions[rank];
        RankReader rr = null;
        long next = 0;
        try {
            while (!finished) {
                try {
                    if (restoreRequested[rank]) {
                        restoreRequested[rank] = false;
                        next = latestCheckpoint;
                        readerNext[rank] = next;
                        restores++;
                        sim.trace(self + " restores from checkpoint step " + next);
                        if (rr != null) {
                            rr.close(); // a restarted rank opens the stream afresh
                            rr = null;
                        }
                        continue;
                    }
                    if (rr == null) {
                        if (this.store.peek(StreamConfig.KEY) == null) {
                            sleep(env, 20);
                            continue;
                        }
                        rr = rank < worldSize ? RankReader.open(store, rank, worldSize, next, options, null, env)
                                : RankReader.openElastic(store, elasticRank, elasticWorldSize, next, options, null, env);
                    }
                    long bound = config.maxLagSteps();
                    ManifestState s = rr.log().state();
                    if (bound > 0 && s.lagSteps() > bound) {
                        sim.fail("flow control overshot: version " + s.version() + " has " + s.lagSteps() + " committed steps beyond"
                                + " the latest checkpoint, max_lag_steps is " + bound);
                    }
                    StepBatch b;
                    try {
                        b = rr.next(5 + self.random().nextLong(20));
                    } catch (ReaderTimeoutException notYet) {
                        readerNext[rank] = next;
                        continue;
                    }
                    try {
                        if (b.step() != next) {
                            sim.fail(self + " asked for step " + next + " and got step " + b.step() + ": delivery has a gap or goes"
                                    + " back");
                        }
                        checkStep(self, b, rank);
                    } finally {
                        b.close();
                    }
                    next = rr.nextStep();
                    readerNext[rank] = next;
                } catch (StoreException e) {
                    if (e.getCause() instanceof NoSuchKeyException) {
                        sim.fail(self + ": a batch object of step " + next + " or later is gone although the floor is "
                                + latestCheckpointFloorHint() + " (GC deleted what a reader at or above the floor needs): "
                                + e.getMessage());
                    }
                    // A store failure that outlived the retries stops the reader (its follower's poll or a
                    // fetch): what a training process does is open a new one at the step it needs next.
                    sim.trace(self + " reader failed (" + e.getMessage() + "), reopening at step " + next);
                    reopens++;
                    if (rr != null) {
                        rr.close();
                        rr = null;
                    }
                    sleep(env, 5);
                } catch (BelowFloorException e) {
                    sim.fail(self + " asked for step " + next + " below the floor although the trainer only checkpoints steps every"
                            + " reader has read: " + e.getMessage());
                }
            }
        } finally {
            if (rr != null && finished) {
                rr.close(); // its threads end, so the run ends with every actor done
            }
        }
    }

    /** Rank r's process name: r0, r1, ..., then the elastic one, e.g. e1of4. */
    private String readerName(int r) {
        return r < worldSize ? "r" + r : "e" + elasticRank + "of" + elasticWorldSize;
    }

    /** The invariants on one delivered batch: same batch and bytes for a step everywhere, every record once. */
    private void checkStep(SimScheduler.Actor self, StepBatch b, int rank) {
        long step = b.step();
        String batch = b.object(); // a fresh key per (producer, epoch, seq): names the batch
        sim.trace(self + " got step " + step + " " + batch); // in the trace hash: a replay delivers the same, at the same time
        String seen = stepBatch.putIfAbsent(step, batch);
        if (seen != null && !seen.equals(batch)) {
            sim.fail("step " + step + " maps to " + batch + " for " + self + " but to " + seen + " for an earlier reader");
        }
        // the reader checked the stored shard's CRC32C against the entry; these are the decoded bytes it delivers
        long crc = Crc32c.of(b.tensorBytes());
        Long prev = shardCrc.putIfAbsent(step * 1024 + (rank < worldSize ? rank : 512 + elasticRank), crc);
        if (prev != null && prev != crc) {
            sim.fail(self + ": step " + step + " rank " + rank + " read different bytes than before");
        }
        if (rank >= worldSize) {
            // the elastic rank's samples are some of the step's: the same records the stream's ranks read at that step
            Tensor ids = b.tensor("record_id");
            if (ids != null) {
                for (long id : ids.toLongArray()) {
                    Long was = elasticRecordStep.put(id, step);
                    if (was != null && was != step) {
                        sim.fail("the elastic reader read record " + id + " at step " + step + " and at step " + was);
                    }
                }
            }
            return;
        }
        if (prev == null) {
            Tensor ids = b.tensor("record_id");
            if (ids != null) {
                for (long id : ids.toLongArray()) {
                    Long was = recordStep.putIfAbsent(id, step);
                    if (was != null) {
                        sim.fail("record " + id + " was committed twice: at step " + was + " and at step " + step);
                    }
                }
            }
        }
    }

    private String latestCheckpointFloorHint() {
        return "at most step " + latestCheckpoint;
    }

    // ---------------------------------------------------------------- trainer, GC, chaos, verifier

    private void trainer(SimScheduler.Actor self) {
        StreamEnv env = env(self, logGraceMillis / 8);
        ObjectStore store = store(self, env);
        ManifestLog log = null;
        long recorded = 0;
        while (!finished) {
            sleep(env, 20 + self.random().nextLong(200));
            long c = Long.MAX_VALUE;
            for (long n : readerNext) {
                c = Math.min(c, n);
            }
            // The training checkpoint is durable before it is recorded: a rank restoring now
            // restores from it, whether or not the record lands.
            latestCheckpoint = Math.max(latestCheckpoint, c);
            if (latestCheckpoint <= recorded) {
                continue;
            }
            try {
                if (log == null) {
                    log = ManifestLog.open(store, env);
                }
                Checkpoints.record(log, latestCheckpoint, "ckpt-" + latestCheckpoint);
                recorded = latestCheckpoint;
                checkpoints++;
            } catch (StoreException | CommitStateUnknownException | StreamNotFoundException e) {
                log = null; // re-open and record again next round (recording is idempotent)
            }
        }
    }

    private void gc(SimScheduler.Actor self) {
        StreamEnv env = env(self, logGraceMillis / 8);
        ObjectStore store = store(self, env);
        while (!finished) {
            sleep(env, 100 + self.random().nextLong(logGraceMillis));
            try {
                new GarbageCollector(ManifestLog.open(store, env)).run(false);
                gcRuns++;
            } catch (StoreException | CommitStateUnknownException | StreamNotFoundException e) {
                // the next pass retries (a GC scheduled before the stream was created finds none yet)
            }
        }
    }

    private void chaos(SimScheduler.Actor self) {
        StreamEnv env = env(self, 0);
        while (!finished) {
            sleep(env, 50 + self.random().nextLong(400));
            int what = self.random().nextInt(10);
            if (what < 4) {
                int i = self.random().nextInt(producers);
                SimScheduler.Actor a = liveProducer[i];
                if (a != null && !a.done() && !sourceDone[i] && crashes < 20) {
                    sim.crash(a);
                    liveThreads[i].crashAll(); // SIGKILL takes the committer and writers with it
                    crashes++;
                    startProducer(i, (20 + self.random().nextLong(200)) * MS);
                }
            } else if (what < 5) {
                int i = self.random().nextInt(producers);
                SimScheduler.Actor a = liveProducer[i];
                if (a != null && !a.done() && !sourceDone[i] && zombies < 3) {
                    // SIGSTOP past the log grace, a replacement takes over, then SIGCONT: a zombie.
                    long freeze = (logGraceMillis + 100 + self.random().nextLong(logGraceMillis)) * MS;
                    sim.pause(a, freeze);
                    liveThreads[i].pauseAll(freeze); // SIGSTOP freezes the whole process
                    zombies++;
                    startProducer(i, (10 + self.random().nextLong(100)) * MS);
                }
            } else if (what < 7) {
                int r = self.random().nextInt(readerCount);
                if (pauses < 6) {
                    long freeze = (self.random().nextBoolean() ? logGraceMillis * 2 : 100) * MS;
                    sim.pause(readers[r], freeze);
                    readerThreads[r].pauseAll(freeze); // SIGSTOP freezes the rank's follower and fetch threads too
                    pauses++;
                }
            } else if (what < 8 && restores < 4 && latestCheckpoint > 0) {
                restoreRequested[self.random().nextInt(readerCount)] = true;
            }
        }
    }

    private void verifier(SimScheduler.Actor self) {
        StreamEnv env = env(self, 0);
        ObjectStore store = store(self, env);
        while (true) {
            sleep(env, 50);
            boolean allDone = true;
            for (boolean d : sourceDone) {
                allDone &= d;
            }
            if (!allDone) {
                continue;
            }
            ManifestState s;
            try {
                s = ManifestLog.open(store, env).state();
            } catch (StoreException e) {
                continue;
            }
            boolean caughtUp = true;
            for (int r = 0; r < readerCount; r++) {
                caughtUp &= readerNext[r] >= s.committedSteps() && !restoreRequested[r];
            }
            if (!caughtUp) {
                continue;
            }
            finalSteps = s.committedSteps();
            if (recordStep.size() != records || (records > 0 && (recordStep.firstKey() != 0 || recordStep.lastKey() != records - 1))) {
                List<Long> missing = new ArrayList<>();
                for (long id = 0; id < records && missing.size() < 10; id++) {
                    if (!recordStep.containsKey(id)) {
                        missing.add(id);
                    }
                }
                sim.fail("exactly-once violated: " + recordStep.size() + " of " + records + " records were trained on; missing e.g. "
                        + missing);
            }
            for (Map.Entry<Long, Long> e : new TreeMap<>(elasticRecordStep).entrySet()) {
                if (!e.getValue().equals(recordStep.get(e.getKey()))) {
                    sim.fail("the elastic reader read record " + e.getKey() + " at step " + e.getValue() + ", the stream's ranks at step "
                            + recordStep.get(e.getKey()));
                }
            }
            if (stepBatch.size() != finalSteps) {
                sim.fail("readers saw " + stepBatch.size() + " distinct steps, the log has " + finalSteps);
            }
            finished = true;
            return;
        }
    }

    /** What each seed runs: the code paths every user gets, on simulated threads ({@link SimThreads}). */
    public static final String CONFIGURATION = "threaded committer, " + ProducerOptions.defaults().writeParallelism()
            + " writers, background snapshots; RankReader with the shared follower and prefetch (dispatcher + fetch threads,"
            + " CRC32C, LZ4)";

    /** {@code scripts/dst}: runs seeds, prints failures with their replay command, ends with "N passed, M failed". */
    public static void main(String[] args) {
        long seeds = 100;
        long from = 1;
        boolean trace = false;
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seeds" -> seeds = Long.parseLong(args[++i]);
                case "--from" -> from = Long.parseLong(args[++i]);
                case "--trace" -> trace = true;
                case "--verbose" -> verbose = true;
                default -> {
                    System.err.println("usage: dst [--seeds N] [--from S] [--trace] [--verbose]");
                    System.exit(2);
                }
            }
        }
        System.out.println("production configuration: " + CONFIGURATION);
        long passed = 0;
        long failed = 0;
        long ops = 0;
        long steps = 0;
        long crashes = 0;
        long zombies = 0;
        long restores = 0;
        long reopens = 0;
        long t0 = System.nanoTime();
        for (long s = from; s < from + seeds; s++) {
            Result r = run(s, trace);
            ops += r.storeOps();
            steps += r.steps();
            crashes += r.crashes();
            zombies += r.zombies();
            restores += r.restores();
            reopens += r.reopens();
            if (r.ok()) {
                passed++;
                if (verbose) {
                    System.out.println(r.line());
                }
            } else {
                failed++;
                System.out.println(r.line());
                System.out.println("  replay: " + r.replay());
                if (r.failure() != null) {
                    r.failure().printStackTrace(System.out);
                }
            }
        }
        System.out.printf("dst: seeds %d..%d: %d simulated store operations, %d steps, %d crashes, %d zombies, %d reader restores,"
                + " %d reader reopens in %.1f s%n", from, from + seeds - 1, ops, steps, crashes, zombies, restores, reopens,
                (System.nanoTime() - t0) / 1e9);
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
