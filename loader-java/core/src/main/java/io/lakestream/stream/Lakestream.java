package io.lakestream.stream;

import io.lakestream.StreamEnv;
import io.lakestream.lineage.Lineage;
import io.lakestream.lineage.RecordSearch;
import io.lakestream.lineage.StepLineage;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.VersionCache;
import io.lakestream.memory.PinnedPool;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.HandoffFeed;
import io.lakestream.reader.JobFeed;
import io.lakestream.reader.NodeFetch;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.SharedFollower;
import io.lakestream.reader.StepFeed;
import io.lakestream.retention.BackgroundGc;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One open stream in this process: the owner of its store (when opened from a URI), its
 * environment (clock, fail points, threads) and its one log follower. Readers, job leaders,
 * producers, GC, checkpoints and lineage open from it; every reader opened here shares the one
 * follower, so N ranks of a process cost the store the log GETs of one.
 *
 * <pre>{@code
 * try (Lakestream stream = Lakestream.open("file:///data/s", StreamEnv.defaults());
 *      RankReader r = stream.reader(rank, worldSize, startStep, ReaderOptions.defaults())) {
 *     try (StepBatch b = r.next(30_000)) { ... }
 * }
 * }</pre>
 *
 * <p>The follower is created by the first reader (or leader, or {@link #follower()}) and lives
 * until the handle closes: it does not touch the store while no reader waits for an uncommitted
 * step, so a handle with no readers does not poll, and a reader joining later finds it ready.
 * What the handle opens (readers, producers, GC) belongs to the caller, who closes it before the
 * handle; a reader still waiting on the log when the handle closes fails instead of hanging.
 */
public final class Lakestream implements AutoCloseable {
    /** Parsed versions the handle keeps for its logs: more than a reader lags its follower by in practice. */
    private static final int VERSIONS_HELD = 256;

    private final ObjectStore store;
    private final boolean ownsStore;
    private final StreamEnv env;
    private final boolean driven;
    /** Guards the fields below; taken through the env's threads (a simulated process waits on it on simulated time). */
    private final ReentrantLock lock = new ReentrantLock();
    private SharedFollower follower; // created by the first reader
    private volatile boolean closed; // written under lock
    /** Versions parsed by one of the handle's logs, for the others (the follower reads each new one first). */
    private final VersionCache versions = new VersionCache(VERSIONS_HELD);
    /** Guards the checkpoint log; taken through the env's threads. Never held with {@link #lock}. */
    private final ReentrantLock checkpointLock = new ReentrantLock();
    private ManifestLog checkpointLog; // opened by the first checkpoint, dropped after any failure
    private Optional<ObjectInfo> checkpointConfig; // the config file as it was when checkpointLog was opened

    private Lakestream(ObjectStore store, boolean ownsStore, StreamEnv env, boolean driven) {
        this.store = store;
        this.ownsStore = ownsStore;
        this.env = env;
        this.driven = driven;
    }

    /** The stream at {@code store}, which the caller keeps open until the handle is closed (the handle does not close it). */
    public static Lakestream open(ObjectStore store, StreamEnv env) {
        return new Lakestream(store, false, env, false);
    }

    /**
     * The stream at {@code uri} ({@code file:///dir}, or a scheme a store module serves, see
     * {@link ObjectStores#open}); the handle opens the store and closes it on {@link #close}.
     */
    public static Lakestream open(String uri, StreamEnv env) {
        return new Lakestream(ObjectStores.open(uri, false), true, env, false);
    }

    /**
     * As {@link #open(ObjectStore, StreamEnv)}, with a follower that has no worker: its owner
     * (a simulation's actor, a test on a manual clock) calls {@code follower().pollOnce(now)}.
     */
    public static Lakestream driven(ObjectStore store, StreamEnv env) {
        return new Lakestream(store, false, env, true);
    }

    public ObjectStore store() {
        return store;
    }

    public StreamEnv env() {
        return env;
    }

    /**
     * The handle's one follower of the log, created (the log loaded, its worker started) on first
     * use. For driven use call its {@link SharedFollower#pollOnce}; readers subscribe to it.
     *
     * @throws IllegalStateException if the handle is closed
     */
    public SharedFollower follower() {
        env.threads().lock(lock);
        try {
            checkOpen();
            if (follower == null) {
                // the first load is store I/O under this handle's lock: only this stream's first readers wait for it
                follower = driven ? SharedFollower.driven(store, env, versions) : SharedFollower.start(store, env, versions);
            }
            return follower;
        } finally {
            lock.unlock();
        }
    }

    /** A reader of {@code rank} of {@code worldSize} from {@code startStep}, following the log with the handle's follower. */
    public RankReader reader(int rank, int worldSize, long startStep, ReaderOptions options) {
        return reader(rank, worldSize, startStep, options, null);
    }

    /** As {@link #reader(int, int, long, ReaderOptions)}, lending from {@code pool} (null: a private pool). */
    public RankReader reader(int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool) {
        return RankReader.open(follower(), rank, worldSize, startStep, options, pool, false, null);
    }

    /** An elastic reader (see {@link RankReader#openElastic(ObjectStore, int, int, long, ReaderOptions)}). */
    public RankReader elasticReader(int rank, int worldSize, long startStep, ReaderOptions options) {
        return elasticReader(rank, worldSize, startStep, options, null);
    }

    /** As {@link #elasticReader(int, int, long, ReaderOptions)}, lending from {@code pool} (null: a private pool). */
    public RankReader elasticReader(int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool) {
        return RankReader.open(follower(), rank, worldSize, startStep, options, pool, true, null);
    }

    /** A reader that shares one ranged GET per step with its node's other ranks ({@link NodeFetch}), following the log. */
    public RankReader reader(int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool, NodeFetch node) {
        return RankReader.open(follower(), rank, worldSize, startStep, options, pool, false, node);
    }

    /**
     * A reader that learns committed steps from {@code feed} (e.g. {@link #jobMember}) instead of
     * the log; the reader closes the feed. {@code node} null: without node fetch.
     */
    public RankReader fedReader(int rank, int worldSize, long startStep, ReaderOptions options, PinnedPool pool, StepFeed feed,
                                boolean elastic, NodeFetch node) {
        checkOpen();
        return node == null ? RankReader.open(store, rank, worldSize, startStep, options, pool, env, feed, elastic)
                : RankReader.open(store, rank, worldSize, startStep, options, pool, env, feed, node);
    }

    /** A job member's feed ({@link JobFeed#member}): the job leader's hand-off, never the log. */
    public HandoffFeed jobMember(long startStep) {
        checkOpen();
        return JobFeed.member(store, startStep, env);
    }

    /** The job leader's end ({@link JobFeed.Leader}), sharing the handle's follower with the leader's own reader. */
    public JobFeed.Leader jobLeader(long startStep, ReaderOptions options) {
        return JobFeed.Leader.open(follower(), startStep, options);
    }

    /** A producer ({@link TgbProducer#open}), creating the stream from {@code template} if absent. */
    public TgbProducer producer(String producerId, StreamConfig template, ProducerOptions options) {
        checkOpen();
        return TgbProducer.open(store, producerId, template, options, env);
    }

    /** The stream's manifest log, loaded now ({@link ManifestLog#open(ObjectStore, boolean, StreamEnv)}). */
    public ManifestLog log(boolean readOnly) {
        checkOpen();
        return ManifestLog.opener(store).readOnly(readOnly).env(env).versionCache(versions).open();
    }

    /** A garbage collector with the stream's orphan grace ({@link GarbageCollector#GarbageCollector(ManifestLog)}). */
    public GarbageCollector garbageCollector() {
        return new GarbageCollector(log(false));
    }

    /** GC every {@code intervalMillis} on a thread of its own until the caller closes it ({@link BackgroundGc}). */
    public BackgroundGc backgroundGc(long intervalMillis, long orphanGraceMillis) {
        checkOpen();
        return new BackgroundGc(store, intervalMillis, orphanGraceMillis, env);
    }

    /** Records durable training checkpoint {@code step} of the default consumer (see {@link #recordCheckpoint(long, String, String)}). */
    public CommitResult recordCheckpoint(long step, String id) {
        return recordCheckpoint(step, id, null);
    }

    /**
     * Records durable training checkpoint {@code step} of {@code consumer} (null: the default)
     * through {@link #checkpointLog()} ({@link Checkpoints#record(ManifestLog, long, String, String)}).
     * After a failure the log is dropped, and the next call opens it afresh.
     */
    public CommitResult recordCheckpoint(long step, String id, String consumer) {
        env.threads().lock(checkpointLock);
        try {
            ManifestLog log = heldCheckpointLog(false); // the commit reads the head itself
            try {
                return Checkpoints.record(log, step, id, consumer);
            } catch (RuntimeException | Error e) {
                checkpointLog = null;
                throw e;
            }
        } finally {
            checkpointLock.unlock();
        }
    }

    /**
     * The log this handle records checkpoints through, refreshed now: opened by the first call
     * and held, so a trainer that checkpoints every few steps reads only the versions committed
     * since its last one, and those from the follower's parsed {@link VersionCache} rather than
     * the store. Opened afresh when the stream's config file changed since (a stream deleted and
     * created again at the same place: one stat per call tells; the config is read only then).
     * Callers that commit through it serialise on the handle ({@link #recordCheckpoint} does).
     *
     * @throws io.lakestream.store.StreamNotFoundException if the stream has no config (any more)
     */
    public ManifestLog checkpointLog() {
        env.threads().lock(checkpointLock);
        try {
            return heldCheckpointLog(true);
        } finally {
            checkpointLock.unlock();
        }
    }

    /** {@link #checkpointLog()} under {@link #checkpointLock}: refreshed if {@code refresh}. */
    private ManifestLog heldCheckpointLog(boolean refresh) {
        checkOpen();
        Optional<ObjectInfo> now = store.stat(StreamConfig.KEY);
        ManifestLog log = checkpointLog;
        if (log != null && !now.equals(checkpointConfig)) {
            boolean same = now.isPresent() && ManifestLog.readConfig(store).equals(log.config());
            checkpointConfig = now;
            log = same ? log : null;
        }
        if (log == null) {
            checkpointLog = null;
            log = ManifestLog.opener(store).env(env).versionCache(versions).open();
            checkpointConfig = now;
            checkpointLog = log;
        } else if (refresh) {
            try {
                log.refresh();
            } catch (RuntimeException | Error e) {
                checkpointLog = null;
                throw e;
            }
        }
        return log;
    }

    /** Drops the held checkpoint log: the next checkpoint opens it afresh (after a caller's own failure with it). */
    public void dropCheckpointLog() {
        env.threads().lock(checkpointLock);
        try {
            checkpointLog = null;
        } finally {
            checkpointLock.unlock();
        }
    }

    /** Lineage of {@code step} for {@code rank} (-1: every rank), see {@link Lineage#blame(ManifestLog, long, int)}. */
    public StepLineage blame(long step, int rank) {
        return Lineage.blame(log(true), step, rank);
    }

    /** Where record {@code recordId} was or will be trained ({@link Lineage#find(ManifestLog, long)}). */
    public RecordSearch find(long recordId) {
        return Lineage.find(log(true), recordId);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the handle of " + store.describe() + " is closed");
        }
    }

    /**
     * Stops the follower (waiting for a poll in flight), then closes the store if the handle
     * opened it. Idempotent.
     */
    @Override
    public void close() {
        SharedFollower f;
        env.threads().lock(lock);
        try {
            if (closed) {
                return;
            }
            closed = true;
            f = follower;
        } finally {
            lock.unlock();
        }
        try {
            if (f != null) {
                f.close();
            }
        } finally {
            if (ownsStore) {
                store.close();
            }
        }
    }

    @Override
    public String toString() {
        return "Lakestream[" + store.describe() + "]";
    }
}
