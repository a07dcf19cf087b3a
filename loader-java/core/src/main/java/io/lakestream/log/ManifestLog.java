package io.lakestream.log;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ConditionalPut;
import io.lakestream.store.UnsafeStoreException;
import io.lakestream.time.Clock;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The versioned manifest of one stream: {@code _log/<version>.json} files, each created by
 * put-if-absent, plus snapshots and step-index segments that keep opening and committing O(1)
 * in the length of history.
 *
 * <p>The commit contract (after Iceberg's {@code TableOperations.commit}): {@link #commit}
 * validates the caller's changes against the newest state, tries to create the next version,
 * and on losing the race reads what it missed and validates again. A lost confirmation is
 * resolved by reading the version back and comparing commit tokens; if even that fails the
 * outcome is {@link CommitStateUnknownException}, never a guess.
 *
 * <p>This class holds the state (and the mutex that guards it), opens, refreshes and commits; its
 * other jobs are its parts' (as Iceberg splits table operations): {@link LogFiles} reads and
 * parses log files, {@link LogFollower} loads and follows the log with the {@link HeadGuard} that
 * commits rely on too, {@link StepIndex} looks steps up in the tail or the index segments, and
 * {@link SnapshotWriter} writes snapshots and segments and hands their indexing back here.
 */
public final class ManifestLog {
    /** @see StreamLayout#LOG_PREFIX */
    public static final String LOG_PREFIX = StreamLayout.LOG_PREFIX;
    private static final long COMMIT_TIMEOUT_MS = Long.getLong("lakestream.commit.timeout.ms", 120_000);

    private final ObjectStore store;
    private final StreamConfig config;
    private final boolean readOnly;
    private final StreamEnv env;
    private final Clock clock;
    private volatile ManifestState state;
    /**
     * Held by whoever changes {@link #state}: refresh, commit, forget, a snapshot's indexing. A
     * commit holds it across store I/O, so it is taken through the environment's
     * {@link io.lakestream.time.Threads} (a simulated process waits for it on simulated time).
     */
    private final ReentrantLock mutex = new ReentrantLock();
    private final LogFiles files;
    /** Confirmed by following and by commits, relied on by both: used under {@link #mutex}. */
    private final HeadGuard guard;
    private final LogFollower follower;
    private final StepIndex index;
    private final SnapshotWriter snapshots;
    /** Where commits serialise their version files (used under {@link #mutex}): only the exact-size bytes are new. */
    private final io.lakestream.format.JsonBuffer versionBytes = new io.lakestream.format.JsonBuffer(4096);

    private ManifestLog(ObjectStore store, StreamConfig config, boolean readOnly, StreamEnv env, VersionCache cache) {
        this.store = store;
        this.config = config;
        this.readOnly = readOnly;
        this.env = env;
        this.clock = env.clock();
        this.files = new LogFiles(store, config, cache);
        this.guard = new HeadGuard(clock);
        this.follower = new LogFollower(config, clock, files, guard);
        this.index = new StepIndex(config, env, files);
        this.snapshots = new SnapshotWriter(config, env, files, this::publishIndexing);
    }

    /** @see StreamLayout#versionKey */
    public static String versionKey(long v) {
        return StreamLayout.versionKey(v);
    }

    /** @see StreamLayout#snapshotKey */
    public static String snapshotKey(long v) {
        return StreamLayout.snapshotKey(v);
    }

    /** @see StreamLayout#INDEX_PREFIX */
    public static final String INDEX_PREFIX = StreamLayout.INDEX_PREFIX;

    /** @see StreamLayout#segmentKey */
    public static String segmentKey(long firstStep) {
        return StreamLayout.segmentKey(firstStep);
    }

    /** How to open a stream's log, with every option; the overloads below are shorthands for it. */
    public static LogOpener opener(ObjectStore store) {
        return new LogOpener(store);
    }

    /**
     * Opens the stream, creating it with {@code template} if absent.
     *
     * @throws WorldSizeMismatchException if it exists with another world size
     */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template) {
        return opener(store).openOrCreate(template);
    }

    /** As {@link #openOrCreate(ObjectStore, StreamConfig)}, with the given environment. */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, StreamEnv env) {
        return opener(store).env(env).openOrCreate(template);
    }

    /** As {@link #openOrCreate(ObjectStore, StreamConfig, StreamEnv, boolean)} with the default environment. */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, boolean allowUnsafeStore) {
        return opener(store).allowUnsafeStore(allowUnsafeStore).openOrCreate(template);
    }

    /**
     * Opens the stream, creating it with {@code template} if absent; see {@link LogOpener#openOrCreate}
     * (the store is probed before a stream is created, unless {@code allowUnsafeStore}).
     *
     * @throws UnsafeStoreException if the stream is absent and the store fails the probe
     * @throws WorldSizeMismatchException if it exists with another world size
     */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, StreamEnv env, boolean allowUnsafeStore) {
        return opener(store).env(env).allowUnsafeStore(allowUnsafeStore).openOrCreate(template);
    }

    /** Opens an existing stream for committing. */
    public static ManifestLog open(ObjectStore store) {
        return opener(store).open();
    }

    /** Opens an existing stream for committing, with the given environment. */
    public static ManifestLog open(ObjectStore store, StreamEnv env) {
        return opener(store).env(env).open();
    }

    /** Opens an existing stream; a read-only log may drop consumed tail entries to bound memory. */
    public static ManifestLog open(ObjectStore store, boolean readOnly) {
        return opener(store).readOnly(readOnly).open();
    }

    /** As {@link #open(ObjectStore, boolean)}, with the given environment. */
    public static ManifestLog open(ObjectStore store, boolean readOnly, StreamEnv env) {
        return opener(store).readOnly(readOnly).env(env).open();
    }

    /** Opens an existing stream and checks its world size. */
    public static ManifestLog open(ObjectStore store, int worldSize, boolean readOnly) {
        return opener(store).worldSize(worldSize).readOnly(readOnly).open();
    }

    /** As {@link #open(ObjectStore, int, boolean)}, with the given environment. */
    public static ManifestLog open(ObjectStore store, int worldSize, boolean readOnly, StreamEnv env) {
        return opener(store).worldSize(worldSize).readOnly(readOnly).env(env).open();
    }

    /** The stream's config, validated. */
    public static StreamConfig readConfig(ObjectStore store) {
        return LogOpener.readConfig(store);
    }

    /** A log of the stream whose config is {@code cfg}, loaded to its head. */
    static ManifestLog load(ObjectStore store, StreamConfig cfg, boolean readOnly, StreamEnv env, VersionCache cache) {
        ManifestLog log = new ManifestLog(store, cfg, readOnly, env, cache);
        log.state = log.follower.load();
        return log;
    }

    public ObjectStore store() {
        return store;
    }

    public StreamConfig config() {
        return config;
    }

    /** The environment (clock, ...) this log and everything built on it uses. */
    public StreamEnv env() {
        return env;
    }

    /** The state as of the last refresh or commit. */
    public ManifestState state() {
        return state;
    }

    /** Where an object of this stream lives, for messages. */
    public String where(String key) {
        return files.where(key);
    }

    /** Reads versions committed since the last refresh. Cheap when there are none: one GET. */
    public ManifestState refresh() {
        env.threads().lock(mutex);
        try {
            ManifestState s = follower.follow(state);
            state = s;
            return s;
        } finally {
            mutex.unlock();
        }
    }

    // ---------------------------------------------------------------- step lookup

    /**
     * The TGB committed at {@code step}.
     *
     * @throws IllegalArgumentException if the step is not committed (yet) in the state held
     */
    public TgbEntry entry(long step) {
        return index.entry(state, step);
    }

    /** Lets a read-only log forget TGB entries below {@code step}, bounding its memory. */
    public void forgetBefore(long step) {
        if (!readOnly) {
            throw new IllegalStateException("only read-only logs may forget entries");
        }
        env.threads().lock(mutex);
        try {
            state = state.trimmedBefore(step);
        } finally {
            mutex.unlock();
        }
    }

    // ---------------------------------------------------------------- committing

    /**
     * Commits what {@code prepare} returns for the newest state. {@code prepare} is called again
     * after every lost race, with the state that won; it validates (throwing to abort, e.g. when
     * fenced) and returns the changes, or {@link Changes#NONE} when nothing is left to commit.
     *
     * <p>The loop here is for meaning only: losing the race for the next version. Transient store
     * failures were retried by the store's retry layer; one that still surfaces from reading the
     * log ends the commit (nothing of it was written), and a write whose outcome cannot be
     * learned is {@link CommitStateUnknownException}.
     */
    public CommitResult commit(String committer, Function<ManifestState, Changes> prepare) {
        return commitUnderMutex(committer, prepare, null);
    }

    /**
     * As {@link #commit(String, Function)}, with {@code beforePublish} run before each write of the
     * version can publish it ({@link ObjectStore#putIfAbsent(String, java.lang.foreign.MemorySegment,
     * boolean, Runnable)}): a producer waits there for the directory sync of the batch objects the
     * version names, which it started in {@code prepare}, so the sync overlaps the version's write.
     * If it throws, the commit fails with its exception and publishes nothing.
     */
    public CommitResult commit(String committer, Function<ManifestState, Changes> prepare, Runnable beforePublish) {
        return commitUnderMutex(committer, prepare, java.util.Objects.requireNonNull(beforePublish, "beforePublish"));
    }

    /** {@code beforePublish} null: none (the version put is the plain conditional write). */
    private CommitResult commitUnderMutex(String committer, Function<ManifestState, Changes> prepare, Runnable beforePublish) {
        env.threads().lock(mutex);
        try {
            return commitLocked(committer, prepare, beforePublish);
        } finally {
            mutex.unlock();
        }
    }

    private CommitResult commitLocked(String committer, Function<ManifestState, Changes> prepare, Runnable beforePublish) {
        if (readOnly) {
            throw new IllegalStateException("log of " + store.describe() + " was opened read-only");
        }
        String token = env.newToken();
        long deadline = clock.monotonicNanos() + COMMIT_TIMEOUT_MS * 1_000_000;
        int attempts = 0;
        int conflicts = 0;
        int batchConflicts = 0;
        long stepsBeforeLostRace = -1;
        long backoff = 1;
        while (true) {
            ManifestState s = refresh();
            if (stepsBeforeLostRace >= 0 && s.committedSteps() > stepsBeforeLostRace) {
                batchConflicts++; // the versions that beat us committed batches (not a checkpoint, GC, control, epoch claim)
            }
            stepsBeforeLostRace = -1;
            if (!guard.fresh(s.version(), config.logGraceMs() / 4)) {
                // The head was confirmed too long ago (a slow store, a long pause): a version above
                // ours could have been committed and reclaimed since. Look again.
                guard.clear();
                checkDeadline(deadline, committer, conflicts, StreamLayout.versionKey(s.version() + 1));
                continue;
            }
            Changes ch = prepare.apply(s);
            if (ch == null || ch.isEmpty()) {
                return new CommitResult(false, s.version(), s.committedSteps(), 0, attempts, conflicts, s, batchConflicts);
            }
            if (s.ended() && !ch.tgbs().isEmpty()) {
                // Every committer is told, not only producers: no version may add steps after the end.
                throw new StreamClosedException(store.describe(), s.endStep(), "so the commit of " + ch.tgbs().size()
                        + " batches by '" + committer + "' was refused");
            }
            long v = s.version() + 1;
            String key = StreamLayout.versionKey(v);
            VersionFile vf = new VersionFile(v, token, committer, clock.wallMillis(), s.committedSteps(),
                    new TreeMap<>(ch.producers()), files.inStreamForm(ch.tgbs()), ch.checkpoints(), ch.reclaimedBelowStep(),
                    ch.endOfStream() ? Boolean.TRUE : null, ch.controls());
            // Validate before writing: an invalid version would poison the log for every reader.
            ManifestState ns = s.apply(vf, files.whereLater(key)); // the text is built only for an error
            Json.writeTo(vf, versionBytes);
            java.lang.foreign.MemorySegment bytes = versionBytes.segment(); // no exact-size copy; the buffer waits for our next commit
            env.failPoints().hit(FailPoints.BEFORE_VERSION_PUT);
            if (!guard.fresh(s.version(), config.logGraceMs() / 4)) {
                guard.clear();
                checkDeadline(deadline, committer, conflicts, key);
                continue; // prepare or a fail point took long: confirm the head again before writing
            }
            attempts++;
            long putStartedAt = clock.monotonicNanos();
            ConditionalPut.Outcome outcome;
            try {
                outcome = ConditionalPut.put(store, key, bytes, true, found -> isOurs(found, key, token), () -> guardRewrite(v),
                        beforePublish);
            } catch (ConditionalPut.OutcomeUnknownException e) {
                throw new CommitStateUnknownException("commit of " + where(key) + ": " + e.getMessage()
                        + "; re-open the stream to learn the producer's committed state", store.describe(), key, e);
            }
            // VANISHED: another writer's version v, already reclaimed by GC: we lost that race long ago.
            if (outcome == ConditionalPut.Outcome.CREATED || outcome == ConditionalPut.Outcome.OURS) {
                env.failPoints().hit(FailPoints.AFTER_VERSION_PUT);
                state = ns;
                guard.confirm(v, putStartedAt); // nothing above v existed when our put of v started
                snapshots.maybeSnapshot(state);
                return new CommitResult(true, v, s.committedSteps(), vf.tgbs().size(), attempts, conflicts, state, batchConflicts);
            }
            conflicts++;
            stepsBeforeLostRace = s.committedSteps();
            checkDeadline(deadline, committer, conflicts, key);
            sleepJittered(backoff);
            backoff = Math.min(backoff * 2, 64);
        }
    }

    /**
     * Before writing version {@code v} again after an unanswered write whose key then read back
     * absent: the absence must mean "never written", not "written (maybe by us) and reclaimed
     * since". It does while the head confirmation that preceded the first write is younger than
     * half the log grace; otherwise a LIST past version {@code v - 1} decides: anything later means
     * {@code v} existed and was reclaimed, and whether it was ours can no longer be learned.
     */
    private void guardRewrite(long v) {
        if (guard.fresh(v - 1, config.logGraceMs() / 2)) {
            return;
        }
        long askedAt = clock.monotonicNanos();
        List<ObjectInfo> next = store.list(StreamLayout.LOG_PREFIX, StreamLayout.logAfter(v - 1), 1);
        if (!next.isEmpty() && LogFollower.isLaterLogFile(next.get(0).key(), v - 1)) {
            throw new ConditionalPut.OutcomeUnknownException("version " + v + " is absent but " + next.get(0).key() + " exists: the"
                    + " version was written and reclaimed by log GC while this commit stalled, so whether it held this commit is"
                    + " unknown", StreamLayout.versionKey(v), null);
        }
        guard.confirm(v - 1, askedAt);
    }

    /** Whether version file bytes found at {@code key} are this commit's (an earlier attempt landed). */
    private boolean isOurs(byte[] found, String key, String token) {
        if (VersionTombstone.is(found)) {
            return false; // reclaimed: if it was ours, our batches' sequences are in the log and a retry drops them
        }
        try {
            return token.equals(Json.read(found, VersionFile.class, "manifest version " + where(key)).commitToken());
        } catch (FormatException e) {
            throw new LogFormatException(e.getMessage(), store.describe(), key, e);
        }
    }

    private void checkDeadline(long deadline, String committer, int conflicts, String key) {
        if (pastDeadline(deadline)) {
            throw new CommitTimeoutException(store.describe(), committer, COMMIT_TIMEOUT_MS, conflicts, key);
        }
    }

    private boolean pastDeadline(long deadlineNanos) {
        return clock.monotonicNanos() - deadlineNanos > 0;
    }

    private void sleepJittered(long maxMillis) {
        long ms = env.random().nextLong(maxMillis + 1);
        try {
            if (ms > 0) {
                clock.sleep(ms);
            } else {
                Thread.onSpinWait();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while backing off", e);
        }
    }

    // ---------------------------------------------------------------- snapshots (SnapshotWriter writes them)

    /**
     * Writes snapshots (and the index segments they rely on) with {@code writer} from now on,
     * off the commit path: a commit that makes one due hands it over and returns. Null (the
     * default) writes them inline, inside the commit that made them due, as a deterministic
     * simulation needs (no other threads). A producer with a committer thread passes its writers.
     */
    public void writeSnapshotsWith(java.util.concurrent.Executor writer) {
        snapshots.writeWith(writer);
    }

    /** Waits (at most {@code millis}) for a snapshot handed to the snapshot writer to be written or given up. */
    public void awaitSnapshots(long millis) {
        snapshots.await(millis);
    }

    /**
     * Folds the indexing of {@code indexed} (a state this log held, with segments and a snapshot
     * written or adopted) into the current state: commits may have moved it on meanwhile, and it
     * extends {@code indexed}, so the same entries drop from its tail.
     */
    private void publishIndexing(ManifestState indexed) {
        env.threads().lock(mutex);
        try {
            ManifestState cur = state;
            state = cur.version() == indexed.version() && !cur.tailPartial() ? indexed : cur.withIndexingOf(indexed);
        } finally {
            mutex.unlock();
        }
    }
}
