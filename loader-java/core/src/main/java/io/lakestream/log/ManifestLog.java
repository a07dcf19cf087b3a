package io.lakestream.log;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ConditionalPut;
import io.lakestream.store.StoreException;
import io.lakestream.store.StoreProbe;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.store.UnsafeStoreException;
import io.lakestream.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
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
 */
public final class ManifestLog {
    private static final System.Logger LOG = System.getLogger(ManifestLog.class.getName());
    /** @see StreamLayout#LOG_PREFIX */
    public static final String LOG_PREFIX = StreamLayout.LOG_PREFIX;
    private static final long COMMIT_TIMEOUT_MS = Long.getLong("lakestream.commit.timeout.ms", 120_000);
    /** Listings of the log that found it changing underneath (GC racing them) before giving up. */
    private static final int LISTING_ATTEMPTS = 5;

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
    private final Object segmentLock = new Object();
    private String cachedSegmentKey;
    private Snapshot.SegmentFile cachedSegment;
    /**
     * The head guard (see {@link #follow}): at monotonic time {@code headConfirmedNanos} of this
     * process (the start of the request that showed it) no version above {@code headVersion}
     * existed, so any such version was created after that moment and log GC, which deletes only
     * version files older than the stream's log grace, cannot have deleted it before
     * {@code headConfirmedNanos + log grace}. Never another process's clock.
     */
    private boolean headConfirmed;
    private long headVersion = -1;
    private long headConfirmedNanos;

    private ManifestLog(ObjectStore store, StreamConfig config, boolean readOnly, StreamEnv env) {
        this.store = store;
        this.config = config;
        this.readOnly = readOnly;
        this.env = env;
        this.clock = env.clock();
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

    /**
     * Opens the stream, creating it with {@code template} if absent.
     *
     * @throws WorldSizeMismatchException if it exists with another world size
     */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template) {
        return openOrCreate(store, template, StreamEnv.defaults(), false);
    }

    /** As {@link #openOrCreate(ObjectStore, StreamConfig)}, with the given environment. */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, StreamEnv env) {
        return openOrCreate(store, template, env, false);
    }

    /** As {@link #openOrCreate(ObjectStore, StreamConfig, StreamEnv, boolean)} with the default environment. */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, boolean allowUnsafeStore) {
        return openOrCreate(store, template, StreamEnv.defaults(), allowUnsafeStore);
    }

    /**
     * Opens the stream, creating it with {@code template} if absent. Before creating a stream the
     * store is probed once ({@link StoreProbe#requireSafe}): a store whose conditional writes can
     * have two winners would break exactly-once silently, so it is refused unless
     * {@code allowUnsafeStore}.
     *
     * @throws UnsafeStoreException if the stream is absent and the store fails the probe
     * @throws WorldSizeMismatchException if it exists with another world size
     */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template, StreamEnv env, boolean allowUnsafeStore) {
        template.validate("new stream config");
        if (store.stat(StreamConfig.KEY).isEmpty()) {
            if (allowUnsafeStore) {
                LOG.log(System.Logger.Level.WARNING, "creating a stream on " + store.describe() + " WITHOUT checking that its "
                        + "conditional writes have exactly one winner (unsafe store override): exactly-once is not guaranteed");
            } else {
                StoreProbe.requireSafe(store);
            }
        }
        boolean created = store.putIfAbsent(StreamConfig.KEY, Json.write(template));
        ManifestLog log = open(store, false, env);
        if (!created && log.config.worldSize() != template.worldSize()) {
            throw new WorldSizeMismatchException(store.describe(), log.config.worldSize(), template.worldSize());
        }
        return log;
    }

    /** Opens an existing stream for committing. */
    public static ManifestLog open(ObjectStore store) {
        return open(store, false);
    }

    /** Opens an existing stream for committing, with the given environment. */
    public static ManifestLog open(ObjectStore store, StreamEnv env) {
        return open(store, false, env);
    }

    /** Opens an existing stream; a read-only log may drop consumed tail entries to bound memory. */
    public static ManifestLog open(ObjectStore store, boolean readOnly) {
        return open(store, readOnly, StreamEnv.defaults());
    }

    /** As {@link #open(ObjectStore, boolean)}, with the given environment. */
    public static ManifestLog open(ObjectStore store, boolean readOnly, StreamEnv env) {
        StreamConfig cfg = readConfig(store);
        ManifestLog log = new ManifestLog(store, cfg, readOnly, env);
        log.state = log.load();
        return log;
    }

    /** Opens an existing stream and checks its world size. */
    public static ManifestLog open(ObjectStore store, int worldSize, boolean readOnly) {
        return open(store, worldSize, readOnly, StreamEnv.defaults());
    }

    /** As {@link #open(ObjectStore, int, boolean)}, with the given environment. */
    public static ManifestLog open(ObjectStore store, int worldSize, boolean readOnly, StreamEnv env) {
        ManifestLog log = open(store, readOnly, env);
        if (log.config.worldSize() != worldSize) {
            throw new WorldSizeMismatchException(store.describe(), log.config.worldSize(), worldSize);
        }
        return log;
    }

    public static StreamConfig readConfig(ObjectStore store) {
        byte[] b;
        try {
            b = store.get(StreamConfig.KEY);
        } catch (NoSuchKeyException e) {
            throw new StreamNotFoundException(store.describe(), "missing " + StreamConfig.KEY);
        }
        String where = store.describe() + "/" + StreamConfig.KEY;
        StreamConfig cfg;
        try {
            cfg = Json.read(b, StreamConfig.class, where);
        } catch (FormatException e) {
            throw new LogFormatException(e.getMessage(), store.describe(), StreamConfig.KEY, e);
        }
        cfg.validate(where);
        return cfg;
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
        return store.describe() + "/" + key;
    }

    // ---------------------------------------------------------------- loading and following

    private ManifestState load() {
        Snapshot.Hint hint = readHint();
        for (int attempt = 1; ; attempt++) {
            try {
                ManifestState s = null;
                if (hint != null) {
                    s = loadFromListing(StreamLayout.logFrom(hint.version()), -1);
                }
                if (s == null) {
                    s = loadFromListing(null, -1);
                }
                if (s == null) {
                    s = ManifestState.empty(config);
                }
                return follow(s);
            } catch (ListingRaceException e) {
                // GC moved the log on while we listed and read it: list again (it only ever moves forward)
                if (attempt >= LISTING_ATTEMPTS) {
                    throw new LogFormatException(e.getMessage() + " (" + attempt + " listings in a row)", store.describe(), null, e);
                }
                hint = null;
            }
        }
    }

    /** The log changed under a listing in a way a later listing resolves (GC deleted what we were reading). */
    private static final class ListingRaceException extends RuntimeException {
        ListingRaceException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The state from the newest loadable snapshot listed after {@code startAfter} whose version is
     * above {@code above}, or null if there is none. Versions below that snapshot are not needed
     * and may have any gaps (log GC deletes them, possibly between two pages of this listing or
     * in any order); versions above it must be contiguous, or the listing raced GC and is retried.
     * A listing that completes is also a head confirmation: nothing above the highest version it
     * saw existed when it started.
     */
    private ManifestState loadFromListing(String startAfter, long above) {
        List<Long> versions = new ArrayList<>();
        List<Long> snapshots = new ArrayList<>();
        long listedAt = clock.monotonicNanos();
        String after = startAfter;
        while (true) {
            List<ObjectInfo> page = store.list(StreamLayout.LOG_PREFIX, after, 1000);
            for (ObjectInfo o : page) {
                switch (StreamLayout.parse(o.key())) {
                    case StreamLayout.Version v -> versions.add(v.version());
                    case StreamLayout.Snapshot sn -> snapshots.add(sn.version());
                    case StreamLayout.Unknown u -> LOG.log(System.Logger.Level.WARNING, "ignoring unrecognised key " + where(u.key())
                            + ": " + u.reason());
                    default -> { } // the snapshot hint, the store clock
                }
            }
            if (page.size() < 1000) {
                break;
            }
            after = page.get(page.size() - 1).key();
        }
        Collections.sort(versions);
        Collections.sort(snapshots, Collections.reverseOrder());
        long newestListed = versions.isEmpty() ? -1 : versions.get(versions.size() - 1);
        for (long sv : snapshots) {
            if (sv <= above) {
                break;
            }
            ManifestState s;
            try {
                Snapshot snap = readJson(StreamLayout.snapshotKey(sv), Snapshot.class);
                if (snap.version() != sv) {
                    throw new LogFormatException(where(StreamLayout.snapshotKey(sv)) + ": holds version " + snap.version());
                }
                s = ManifestState.fromSnapshot(config, snap, where(snapshotKey(sv)));
            } catch (FormatException | NoSuchKeyException e) {
                // A bad or vanished snapshot is skipped: an older one (or the versions) can stand in.
                LOG.log(System.Logger.Level.WARNING, "skipping unusable snapshot " + sv + ": " + e.getMessage());
                continue;
            }
            checkContiguous(versions, sv);
            confirmHead(newestListed, listedAt);
            return s;
        }
        if (startAfter != null || above >= 0) {
            return null;
        }
        if (!versions.isEmpty() && versions.get(0) != 0) {
            // Version 0 was reclaimed (so a snapshot above it existed): the snapshots we listed were
            // reclaimed too before we read them. A new listing finds the newer ones.
            throw new ListingRaceException("manifest of " + store.describe() + " starts at version " + versions.get(0)
                    + " and no snapshot listed with it could be loaded");
        }
        checkContiguous(versions, -1);
        confirmHead(newestListed, listedAt);
        return null;
    }

    /** Listed versions above {@code from} must follow each other: a hole there is not GC's doing. */
    private void checkContiguous(List<Long> versions, long from) {
        long expect = from + 1;
        for (long v : versions) {
            if (v <= from) {
                continue;
            }
            if (v != expect) {
                throw new ListingRaceException("manifest of " + store.describe() + " has a gap: version " + expect
                        + " is missing but version " + v + " exists");
            }
            expect++;
        }
    }

    private void confirmHead(long version, long atNanos) {
        headConfirmed = true;
        headVersion = version;
        headConfirmedNanos = atNanos;
    }

    /** Whether a head confirmation of {@code version} (or an older one) is younger than {@code maxAgeMillis}. */
    private boolean headFresh(long version, long maxAgeMillis) {
        return headConfirmed && headVersion <= version && clock.monotonicNanos() - headConfirmedNanos < maxAgeMillis * 1_000_000;
    }

    /**
     * Applies every version after {@code s} that exists now.
     *
     * <p>A version absent from the store is either not committed yet or committed and already
     * reclaimed by log GC (a follower that fell behind). The two are told apart by this process's
     * own monotonic time since it last confirmed the head (see {@link #headConfirmedNanos}): while
     * that is under half the log grace, no version above the confirmed head can have been
     * reclaimed yet, so the absent version is not committed, and this GET confirms the head anew.
     * Otherwise one LIST past our version settles it: nothing later means we are at the head;
     * later files mean the next version was reclaimed, and we reload from the newest snapshot.
     */
    private ManifestState follow(ManifestState s) {
        for (int races = 0; ; ) {
            long askedAt = clock.monotonicNanos();
            VersionSlot v = readVersion(s.version() + 1);
            if (v.file() != null) {
                s = s.apply(v.file(), where(StreamLayout.versionKey(s.version() + 1)));
                continue;
            }
            if (v.reclaimed()) {
                // We fell behind log GC: the versions we need were folded into a newer snapshot.
                ManifestState fresh = reloadAfter(s.version());
                if (fresh == null) {
                    if (++races >= LISTING_ATTEMPTS) {
                        throw new LogFormatException("manifest of " + store.describe() + ": version " + (s.version() + 1)
                                + " was reclaimed but no later snapshot could be loaded (" + races + " listings)");
                    }
                    continue;
                }
                s = fresh;
                continue;
            }
            if (headFresh(s.version(), config.logGraceMs() / 2)) {
                confirmHead(s.version(), askedAt);
                return s;
            }
            askedAt = clock.monotonicNanos();
            String after = StreamLayout.logAfter(s.version());
            List<ObjectInfo> next = store.list(StreamLayout.LOG_PREFIX, after, 1);
            if (next.isEmpty() || !isLaterLogFile(next.get(0).key(), s.version())) {
                confirmHead(s.version(), askedAt);
                return s;
            }
            if (!readVersion(s.version() + 1).absent()) {
                continue; // it was committed (or reclaimed) between our GET and the LIST: look again
            }
            // The next version was deleted (by log GC of a build before tombstones): we fell behind.
            ManifestState fresh = reloadAfter(s.version());
            if (fresh == null) {
                if (++races >= LISTING_ATTEMPTS) {
                    throw new LogFormatException("manifest of " + store.describe() + ": version " + (s.version() + 1)
                            + " is missing but " + next.get(0).key() + " exists and no later snapshot covers the gap ("
                            + races + " listings)");
                }
                continue;
            }
            s = fresh;
        }
    }

    /** The state from the newest loadable snapshot above {@code version}, or null if none could be loaded now. */
    private ManifestState reloadAfter(long version) {
        try {
            return loadFromListing(StreamLayout.logAfter(version), version);
        } catch (ListingRaceException e) {
            return null;
        }
    }

    private static boolean isLaterLogFile(String key, long version) {
        return switch (StreamLayout.parse(key)) {
            case StreamLayout.Version v -> v.version() > version;
            case StreamLayout.Snapshot sn -> sn.version() > version;
            default -> false;
        };
    }

    private Snapshot.Hint readHint() {
        try {
            Optional<byte[]> hb = store.getIfPresent(StreamLayout.SNAPSHOT_HINT);
            return hb.isEmpty() ? null : Json.read(hb.get(), Snapshot.Hint.class, where(StreamLayout.SNAPSHOT_HINT));
        } catch (FormatException | StoreException e) {
            LOG.log(System.Logger.Level.DEBUG, "ignoring unreadable snapshot hint: " + e.getMessage());
            return null;
        }
    }

    /** Reads versions committed since the last refresh. Cheap when there are none: one GET. */
    public ManifestState refresh() {
        env.threads().lock(mutex);
        try {
            ManifestState s = follow(state);
            state = s;
            return s;
        } finally {
            mutex.unlock();
        }
    }

    /** A version key's content: the version, a tombstone (reclaimed by log GC), or nothing yet. */
    private record VersionSlot(VersionFile file, boolean reclaimed) {
        static final VersionSlot ABSENT = new VersionSlot(null, false);
        static final VersionSlot RECLAIMED = new VersionSlot(null, true);

        boolean absent() {
            return file == null && !reclaimed;
        }
    }

    private VersionSlot readVersion(long v) {
        String key = StreamLayout.versionKey(v);
        FormatException last = null;
        for (int i = 0; i < 2; i++) {
            Optional<byte[]> b = store.getIfPresent(key);
            if (b.isEmpty()) {
                return VersionSlot.ABSENT;
            }
            if (VersionTombstone.is(b.get())) {
                return VersionSlot.RECLAIMED;
            }
            try {
                return new VersionSlot(Json.read(b.get(), VersionFile.class, "manifest version " + where(key)), false);
            } catch (FormatException e) {
                last = e; // a torn transfer heals on re-read; corruption does not
            }
        }
        throw new LogFormatException(last.getMessage(), store.describe(), key, last);
    }

    private <T> T readJson(String key, Class<T> type) {
        return readIfPresent(key, type, "").orElseThrow(() -> new NoSuchKeyException(store.describe(), key));
    }

    /**
     * Reads and parses a log file. A parse failure is read once more: a torn transfer heals on
     * re-read, real corruption does not and is reported naming the file. (Transient store errors
     * were already retried by the store's retry layer.)
     */
    private <T> Optional<T> readIfPresent(String key, Class<T> type, String what) {
        FormatException last = null;
        for (int i = 0; i < 2; i++) {
            Optional<byte[]> b = store.getIfPresent(key);
            if (b.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(Json.read(b.get(), type, what + where(key)));
            } catch (FormatException e) {
                last = e;
            }
        }
        throw new LogFormatException(last.getMessage(), store.describe(), key, last);
    }

    // ---------------------------------------------------------------- step lookup

    /**
     * The TGB committed at {@code step}.
     *
     * @throws IllegalArgumentException if the step is not committed (yet) in the state held
     */
    public TgbEntry entry(long step) {
        ManifestState s = state;
        if (step < 0 || step >= s.committedSteps()) {
            throw new IllegalArgumentException("step " + step + " of " + store.describe() + " is not committed (committed steps: "
                    + s.committedSteps() + ")");
        }
        if (step < s.reclaimedBelowStep()) {
            throw new BelowFloorException(store.describe(), step, s.floorStep());
        }
        if (step >= s.tailFirstStep()) {
            return s.tail().get((int) (step - s.tailFirstStep()));
        }
        if (step >= s.indexedSteps()) {
            throw new IllegalStateException("step " + step + " of " + store.describe() + " was already forgotten by this reader"
                    + " (it keeps steps from " + s.tailFirstStep() + ")");
        }
        long first = s.segmentStart(step);
        Snapshot.SegmentFile f;
        try {
            f = segment(first, s.segmentEnd(first) - first);
        } catch (NoSuchKeyException gone) {
            throw segmentGone(step, gone);
        }
        return f.tgbs().get((int) (step - first));
    }

    /**
     * The index segment of {@code step} is gone: GC deletes one only once its steps are all below
     * {@code reclaimed_below_step}, after committing the checkpoint that raised the floor. So a
     * state older than that (a lagging reader) re-confirms the head: below the floor now is
     * {@link BelowFloorException}, as for a fresh reader; otherwise the segment is lost.
     */
    private RuntimeException segmentGone(long step, NoSuchKeyException gone) {
        ManifestState now = ManifestLog.open(store, true, env).state();
        long floor = Math.max(now.floorStep(), now.reclaimedBelowStep());
        if (step < floor) {
            return new BelowFloorException(store.describe(), step, floor);
        }
        return new LogFormatException(where(gone.key()) + ": index segment of step " + step + " is missing", store.describe(),
                gone.key(), gone);
    }

    private Snapshot.SegmentFile segment(long first, long n) {
        String key = StreamLayout.segmentKey(first);
        synchronized (segmentLock) {
            if (key.equals(cachedSegmentKey)) {
                return cachedSegment;
            }
        }
        Snapshot.SegmentFile f = readJson(key, Snapshot.SegmentFile.class);
        if (f.firstStep() != first || f.tgbs() == null || f.tgbs().size() != n) {
            throw new LogFormatException(where(key) + ": index segment does not cover steps [" + first + ", " + (first + n) + ")");
        }
        for (TgbEntry t : f.tgbs()) {
            t.validate(config.worldSize(), where(key));
        }
        synchronized (segmentLock) {
            cachedSegmentKey = key;
            cachedSegment = f;
        }
        return f;
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
        env.threads().lock(mutex);
        try {
            return commitLocked(committer, prepare);
        } finally {
            mutex.unlock();
        }
    }

    private CommitResult commitLocked(String committer, Function<ManifestState, Changes> prepare) {
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
            if (!headFresh(s.version(), config.logGraceMs() / 4)) {
                // The head was confirmed too long ago (a slow store, a long pause): a version above
                // ours could have been committed and reclaimed since. Look again.
                headConfirmed = false;
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
                    new TreeMap<>(ch.producers()), inStreamForm(ch.tgbs()), ch.checkpoints(), ch.reclaimedBelowStep(),
                    ch.endOfStream() ? Boolean.TRUE : null, ch.controls());
            // Validate before writing: an invalid version would poison the log for every reader.
            ManifestState ns = s.apply(vf, where(key));
            byte[] bytes = Json.write(vf);
            env.failPoints().hit(FailPoints.BEFORE_VERSION_PUT);
            if (!headFresh(s.version(), config.logGraceMs() / 4)) {
                headConfirmed = false;
                checkDeadline(deadline, committer, conflicts, key);
                continue; // prepare or a fail point took long: confirm the head again before writing
            }
            attempts++;
            long putStartedAt = clock.monotonicNanos();
            ConditionalPut.Outcome outcome;
            try {
                outcome = ConditionalPut.put(store, key, bytes, found -> isOurs(found, key, token), () -> guardRewrite(v));
            } catch (ConditionalPut.OutcomeUnknownException e) {
                throw new CommitStateUnknownException("commit of " + where(key) + ": " + e.getMessage()
                        + "; re-open the stream to learn the producer's committed state", store.describe(), key, e);
            }
            // VANISHED: another writer's version v, already reclaimed by GC: we lost that race long ago.
            if (outcome == ConditionalPut.Outcome.CREATED || outcome == ConditionalPut.Outcome.OURS) {
                env.failPoints().hit(FailPoints.AFTER_VERSION_PUT);
                state = ns;
                confirmHead(v, putStartedAt); // nothing above v existed when our put of v started
                maybeSnapshot();
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
        if (headFresh(v - 1, config.logGraceMs() / 2)) {
            return;
        }
        long askedAt = clock.monotonicNanos();
        List<ObjectInfo> next = store.list(StreamLayout.LOG_PREFIX, StreamLayout.logAfter(v - 1), 1);
        if (!next.isEmpty() && isLaterLogFile(next.get(0).key(), v - 1)) {
            throw new ConditionalPut.OutcomeUnknownException("version " + v + " is absent but " + next.get(0).key() + " exists: the"
                    + " version was written and reclaimed by log GC while this commit stalled, so whether it held this commit is"
                    + " unknown", StreamLayout.versionKey(v), null);
        }
        confirmHead(v - 1, askedAt);
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

    /** {@code tgbs} in the form this stream's format version writes (compact shard tables in version 2). */
    private List<TgbEntry> inStreamForm(List<TgbEntry> tgbs) {
        List<TgbEntry> out = new ArrayList<>(tgbs.size());
        for (TgbEntry t : tgbs) {
            out.add(t.inForm(config.formatVersion()));
        }
        return out;
    }

    /**
     * Writes snapshots (and the index segments they rely on) with {@code writer} from now on,
     * off the commit path: a commit that makes one due hands it over and returns. Null (the
     * default) writes them inline, inside the commit that made them due, as a deterministic
     * simulation needs (no other threads). A producer with a committer thread passes its writers.
     */
    public void writeSnapshotsWith(java.util.concurrent.Executor writer) {
        this.snapshotWriter = writer;
    }

    /** Waits (at most {@code millis}) for a snapshot handed to the snapshot writer to be written or given up. */
    public void awaitSnapshots(long millis) {
        long deadline = clock.monotonicNanos() + millis * 1_000_000;
        env.threads().lock(snapshotLock);
        try {
            while (snapshotRunning) {
                long left = deadline - clock.monotonicNanos();
                if (left <= 0) {
                    return;
                }
                env.threads().await(snapshotLock, snapshotDone, left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            snapshotLock.unlock();
        }
    }

    private volatile java.util.concurrent.Executor snapshotWriter;
    private final ReentrantLock snapshotLock = new ReentrantLock();
    private final Condition snapshotDone = snapshotLock.newCondition();
    private boolean snapshotRunning; // guarded by snapshotLock

    /**
     * Writes a snapshot when the committed version is a multiple of the interval, or when the
     * last one is two intervals old (a committer died before writing one). Best effort: a failed
     * snapshot only makes later opens read a few more versions. With a snapshot writer it runs
     * there (one at a time; a snapshot due while one is being written is left to a later commit,
     * which the two-interval rule guarantees).
     */
    private void maybeSnapshot() {
        ManifestState s = state;
        int n = config.snapshotInterval();
        boolean onInterval = s.version() > 0 && s.version() % n == 0;
        boolean due = onInterval || (s.version() > 0 && s.version() - s.lastSnapshotVersion() >= 2L * n);
        if (!due || s.tailPartial()) {
            return;
        }
        java.util.concurrent.Executor writer = snapshotWriter;
        if (writer == null) {
            writeSnapshot(s);
            return;
        }
        snapshotLock.lock();
        try {
            if (snapshotRunning) {
                return;
            }
            snapshotRunning = true;
        } finally {
            snapshotLock.unlock();
        }
        try {
            writer.execute(() -> {
                try {
                    writeSnapshot(s);
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.WARNING, "snapshot at version " + s.version() + " of " + store.describe()
                            + " not written: " + e);
                } finally {
                    snapshotEnded();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            snapshotEnded();
        }
    }

    private void snapshotEnded() {
        snapshotLock.lock();
        try {
            snapshotRunning = false;
            env.threads().signalAll(snapshotDone);
        } finally {
            snapshotLock.unlock();
        }
    }

    /** Writes the index segments and the snapshot of state {@code s}, then lets the held state drop the indexed entries. */
    private void writeSnapshot(ManifestState s) {
        int n = config.snapshotInterval();
        boolean onInterval = s.version() % n == 0;
        env.failPoints().hit(FailPoints.BEFORE_SNAPSHOT);
        try {
            // Another committer may have written a newer snapshot than the last one we know (with
            // many producers, almost always): start from its segments rather than writing them
            // again, and when ours is due only because we had not seen it, write none.
            ManifestState adopted = adoptNewerSnapshot(s);
            if (adopted != null) {
                publishIndexing(adopted);
                s = adopted;
                if (!onInterval && s.version() - s.lastSnapshotVersion() < 2L * n) {
                    return;
                }
            }
            // Complete index segments first (their content is fixed by the log), then the
            // snapshot that relies on them.
            List<Long> splits = new ArrayList<>();
            long indexed = s.indexedSteps();
            while (true) {
                long end = completeSegmentEnd(s, indexed);
                if (end < 0) {
                    break;
                }
                end = writeSegment(s, indexed, end);
                if (indexed % config.indexSegmentSteps() != 0) {
                    splits.add(indexed);
                }
                indexed = end;
            }
            ManifestState ns = s.withIndexed(s.version(), indexed, splits);
            store.putIfAbsent(StreamLayout.snapshotKey(s.version()), Json.write(ns.toSnapshot()));
            publishIndexing(ns);
            store.put(StreamLayout.SNAPSHOT_HINT, Json.write(new Snapshot.Hint(s.version())));
        } catch (StoreException | FormatException e) {
            LOG.log(System.Logger.Level.WARNING, "snapshot at version " + s.version() + " of " + store.describe()
                    + " not written: " + e.getMessage());
        }
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

    /**
     * {@code s} indexed as the snapshot the hint names, if that one is newer than the last
     * snapshot {@code s} knows and not newer than {@code s} itself; else null. That snapshot's
     * segments were written before it, so they need not be written again.
     */
    private ManifestState adoptNewerSnapshot(ManifestState s) {
        Snapshot.Hint h = readHint();
        if (h == null || h.version() <= s.lastSnapshotVersion() || h.version() > s.version()) {
            return null;
        }
        try {
            Snapshot snap = readJson(StreamLayout.snapshotKey(h.version()), Snapshot.class);
            if (snap.version() != h.version()) {
                return null;
            }
            ManifestState.fromSnapshot(config, snap, where(StreamLayout.snapshotKey(h.version()))); // validates it
            return s.withIndexingOf(snap);
        } catch (FormatException | NoSuchKeyException e) {
            return null; // unusable or reclaimed: write our own
        }
    }

    /** What a segment object holds besides its entries ({@code {"first_step":…,"tgbs":[]}}), at most. */
    private static final long SEGMENT_ENVELOPE_BYTES = 64;

    /**
     * The end of the index segment starting at {@code first} if it is complete in {@code s}, else
     * -1 (docs/format.md §6): a segment never crosses a multiple of {@code index_segment_steps},
     * and with a byte bound it closes before the entry that would take the segment object past
     * {@code index_segment_bytes} (counting each entry's JSON, a comma, and 64 bytes for the
     * rest; it always holds at least one entry). It is complete once it reaches
     * that multiple, or once the entry that does not fit is committed.
     */
    private long completeSegmentEnd(ManifestState s, long first) {
        long slotEnd = (first / config.indexSegmentSteps() + 1) * config.indexSegmentSteps();
        long limit = Math.min(slotEnd, s.committedSteps());
        long maxBytes = config.indexSegmentBytes();
        if (maxBytes <= 0) {
            return slotEnd <= s.committedSteps() ? slotEnd : -1;
        }
        long bytes = SEGMENT_ENVELOPE_BYTES;
        for (long step = first; step < limit; step++) {
            bytes += Json.write(s.tail().get((int) (step - s.tailFirstStep())).inForm(config.formatVersion())).length + 1;
            if (bytes > maxBytes && step > first) {
                return step; // this entry does not fit: the segment ends before it
            }
        }
        return limit == slotEnd ? slotEnd : -1;
    }

    /**
     * Writes segment {@code [first, end)} (put-if-absent) and returns its end. If the key exists
     * (another committer wrote it, maybe another implementation that closed it elsewhere) its
     * content must be exactly the log's entries from {@code first} on: then its end is adopted,
     * else the snapshot is not written.
     */
    private long writeSegment(ManifestState s, long first, long end) {
        String key = StreamLayout.segmentKey(first);
        int from = (int) (first - s.tailFirstStep());
        List<TgbEntry> entries = s.tail().subList(from, from + (int) (end - first));
        if (store.putIfAbsent(key, Json.write(new Snapshot.SegmentFile(first, inStreamForm(entries))))) {
            return end;
        }
        Snapshot.SegmentFile found = readJson(key, Snapshot.SegmentFile.class);
        long slotEnd = (first / config.indexSegmentSteps() + 1) * config.indexSegmentSteps();
        int n = found.tgbs() == null ? 0 : found.tgbs().size();
        if (found.firstStep() != first || n < 1 || first + n > Math.min(slotEnd, s.committedSteps())
                || !found.tgbs().equals(s.tail().subList(from, from + n))) {
            throw new LogFormatException(where(key) + ": index segment present but not the log's entries from step " + first);
        }
        return first + n;
    }
}
