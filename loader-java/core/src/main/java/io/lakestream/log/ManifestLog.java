package io.lakestream.log;

import io.lakestream.fail.FailPoints;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.Retry;
import io.lakestream.store.StoreException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    public static final String LOG_PREFIX = "_log/";
    static final String HINT_KEY = "_log/_last_snapshot";
    private static final Pattern VERSION_KEY = Pattern.compile("_log/(\\d{20})\\.json");
    private static final Pattern SNAPSHOT_KEY = Pattern.compile("_log/(\\d{20})\\.snapshot\\.json");
    /** Attempts for each read of a log file: transient store errors are retried, not surfaced. */
    private static final int READ_ATTEMPTS = 8;
    private static final long COMMIT_TIMEOUT_MS = Long.getLong("lakestream.commit.timeout.ms", 120_000);
    /**
     * GC deletes a version file only once it is older than this and below a retained snapshot.
     * A follower whose newest known version is older than half of it double-checks the snapshot
     * hint when the next version seems absent, so it never mistakes a reclaimed version for the
     * head of the log (and never re-creates one). Must exceed clock skew between writers.
     */
    public static final long LOG_GRACE_MS = Long.getLong("lakestream.log.grace.ms", 600_000);

    private final ObjectStore store;
    private final StreamConfig config;
    private final boolean readOnly;
    private volatile ManifestState state;
    private final Object segmentLock = new Object();
    private String cachedSegmentKey;
    private Snapshot.SegmentFile cachedSegment;
    private long newestVersionMillis; // timestamp of the newest version applied (0: unknown)
    private long lastHintCheckMillis;

    private ManifestLog(ObjectStore store, StreamConfig config, boolean readOnly) {
        this.store = store;
        this.config = config;
        this.readOnly = readOnly;
    }

    public static String versionKey(long v) {
        return String.format("_log/%020d.json", v);
    }

    public static String snapshotKey(long v) {
        return String.format("_log/%020d.snapshot.json", v);
    }

    public static final String INDEX_PREFIX = "_index/";

    /** The index segment holding step {@code firstStep} onwards (firstStep a multiple of the segment size). */
    public static String segmentKey(long firstStep) {
        return String.format("_index/%020d.json", firstStep);
    }

    /**
     * Opens the stream, creating it with {@code template} if absent.
     *
     * @throws WorldSizeMismatchException if it exists with another world size
     */
    public static ManifestLog openOrCreate(ObjectStore store, StreamConfig template) {
        template.validate("new stream config");
        boolean created = store.putIfAbsent(StreamConfig.KEY, Json.write(template));
        ManifestLog log = open(store, false);
        if (!created && log.config.worldSize() != template.worldSize()) {
            throw new WorldSizeMismatchException(store.describe(), log.config.worldSize(), template.worldSize());
        }
        return log;
    }

    /** Opens an existing stream for committing. */
    public static ManifestLog open(ObjectStore store) {
        return open(store, false);
    }

    /** Opens an existing stream; a read-only log may drop consumed tail entries to bound memory. */
    public static ManifestLog open(ObjectStore store, boolean readOnly) {
        StreamConfig cfg = readConfig(store);
        ManifestLog log = new ManifestLog(store, cfg, readOnly);
        log.state = log.load();
        return log;
    }

    /** Opens an existing stream and checks its world size. */
    public static ManifestLog open(ObjectStore store, int worldSize, boolean readOnly) {
        ManifestLog log = open(store, readOnly);
        if (log.config.worldSize() != worldSize) {
            throw new WorldSizeMismatchException(store.describe(), log.config.worldSize(), worldSize);
        }
        return log;
    }

    public static StreamConfig readConfig(ObjectStore store) {
        byte[] b;
        try {
            b = Retry.idempotent(READ_ATTEMPTS, 1000, () -> store.get(StreamConfig.KEY));
        } catch (NoSuchKeyException e) {
            throw new IllegalArgumentException("no Lakestream stream at " + store.describe() + " (missing " + StreamConfig.KEY + ")");
        }
        String where = store.describe() + "/" + StreamConfig.KEY;
        StreamConfig cfg;
        try {
            cfg = Json.read(b, StreamConfig.class, where);
        } catch (FormatException e) {
            throw new LogFormatException(e.getMessage(), e);
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
        ManifestState s = null;
        if (hint != null) {
            s = loadFromListing(String.format("_log/%020d", hint.version()));
        }
        if (s == null) {
            s = loadFromListing(null);
        }
        if (s == null) {
            s = ManifestState.empty(config);
        }
        return follow(s);
    }

    /** Newest loadable snapshot at or after {@code startAfter}, checking the versions are gap-free. */
    private ManifestState loadFromListing(String startAfter) {
        List<Long> versions = new ArrayList<>();
        List<Long> snapshots = new ArrayList<>();
        String after = startAfter;
        while (true) {
            final String from = after;
            List<ObjectInfo> page = Retry.idempotent(READ_ATTEMPTS, 1000, () -> store.list(LOG_PREFIX, from, 1000));
            for (ObjectInfo o : page) {
                Matcher m = VERSION_KEY.matcher(o.key());
                if (m.matches()) {
                    versions.add(Long.parseLong(m.group(1)));
                    continue;
                }
                m = SNAPSHOT_KEY.matcher(o.key());
                if (m.matches()) {
                    snapshots.add(Long.parseLong(m.group(1)));
                }
            }
            if (page.size() < 1000) {
                break;
            }
            after = page.get(page.size() - 1).key();
        }
        for (int i = 1; i < versions.size(); i++) {
            if (versions.get(i) != versions.get(i - 1) + 1) {
                throw new LogFormatException("manifest of " + store.describe() + " has a gap: version " + (versions.get(i - 1) + 1)
                        + " is missing but version " + versions.get(i) + " exists");
            }
        }
        Collections.reverse(snapshots);
        for (long sv : snapshots) {
            try {
                Snapshot snap = readJson(snapshotKey(sv), Snapshot.class);
                if (snap.version() != sv) {
                    throw new LogFormatException(where(snapshotKey(sv)) + ": holds version " + snap.version());
                }
                return ManifestState.fromSnapshot(config, snap);
            } catch (FormatException | NoSuchKeyException e) {
                // A bad snapshot loses nothing: the versions it summarises are still there.
                LOG.log(System.Logger.Level.WARNING, "skipping unusable snapshot " + sv + ": " + e.getMessage());
            }
        }
        if (startAfter == null && !versions.isEmpty() && versions.get(0) != 0) {
            throw new LogFormatException("manifest of " + store.describe() + " starts at version " + versions.get(0)
                    + " and has no usable snapshot to start from");
        }
        return null;
    }

    /** Applies every version after {@code s} that exists now. */
    private ManifestState follow(ManifestState s) {
        while (true) {
            Optional<VersionFile> v = readVersion(s.version() + 1);
            if (v.isPresent()) {
                s = s.apply(v.get(), where(versionKey(s.version() + 1)));
                newestVersionMillis = v.get().timestampMillis();
                continue;
            }
            long now = System.currentTimeMillis();
            if (now - newestVersionMillis <= LOG_GRACE_MS / 2 || (readOnly && now - lastHintCheckMillis <= 1000)) {
                return s;
            }
            // Our newest version is old enough that GC may have reclaimed the next one: its
            // absence does not prove we are at the head. One LIST past our version settles it
            // (committers check every time, readers at most once a second).
            lastHintCheckMillis = now;
            String after = String.format("_log/%020d.~", s.version());
            List<ObjectInfo> next = Retry.idempotent(READ_ATTEMPTS, 1000, () -> store.list(LOG_PREFIX, after, 1));
            if (next.isEmpty() || !isLaterLogFile(next.get(0).key(), s.version())) {
                return s;
            }
            if (readVersion(s.version() + 1).isPresent()) {
                continue; // it was committed between our GET and the LIST: keep following
            }
            ManifestState fresh = loadFromListing(after);
            if (fresh == null || fresh.version() <= s.version()) {
                throw new LogFormatException("manifest of " + store.describe() + ": version " + (s.version() + 1)
                        + " is missing but " + next.get(0).key() + " exists and no later snapshot covers the gap");
            }
            s = fresh;
            newestVersionMillis = 0;
        }
    }

    private static boolean isLaterLogFile(String key, long version) {
        Matcher m = VERSION_KEY.matcher(key);
        if (!m.matches()) {
            m = SNAPSHOT_KEY.matcher(key);
            if (!m.matches()) {
                return false;
            }
        }
        return Long.parseLong(m.group(1)) > version;
    }

    private Snapshot.Hint readHint() {
        try {
            Optional<byte[]> hb = store.getIfPresent(HINT_KEY);
            return hb.isEmpty() ? null : Json.read(hb.get(), Snapshot.Hint.class, where(HINT_KEY));
        } catch (FormatException | StoreException e) {
            LOG.log(System.Logger.Level.DEBUG, "ignoring unreadable snapshot hint: " + e.getMessage());
            return null;
        }
    }

    /** Reads versions committed since the last refresh. Cheap when there are none: one GET. */
    public synchronized ManifestState refresh() {
        ManifestState s = follow(state);
        state = s;
        return s;
    }

    private Optional<VersionFile> readVersion(long v) {
        return readIfPresent(versionKey(v), VersionFile.class, "manifest version ");
    }

    private <T> T readJson(String key, Class<T> type) {
        return readIfPresent(key, type, "").orElseThrow(() -> new NoSuchKeyException(store.describe(), key));
    }

    /**
     * Reads and parses a log file, retrying transient store errors and a parse failure twice: a
     * torn transfer heals on re-read, real corruption does not and is reported naming the file.
     */
    private <T> Optional<T> readIfPresent(String key, Class<T> type, String what) {
        FormatException last = null;
        for (int i = 0; i < 3; i++) {
            Optional<byte[]> b = Retry.idempotent(READ_ATTEMPTS, 1000, () -> store.getIfPresent(key));
            if (b.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(Json.read(b.get(), type, what + where(key)));
            } catch (FormatException e) {
                last = e;
            }
        }
        throw new LogFormatException(last.getMessage(), last);
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
        long n = config.indexSegmentSteps();
        long first = step / n * n;
        Snapshot.SegmentFile f = segment(first, n);
        return f.tgbs().get((int) (step - first));
    }

    private Snapshot.SegmentFile segment(long first, long n) {
        String key = segmentKey(first);
        synchronized (segmentLock) {
            if (key.equals(cachedSegmentKey)) {
                return cachedSegment;
            }
        }
        Snapshot.SegmentFile f = readJson(key, Snapshot.SegmentFile.class);
        if (f.firstStep() != first || f.tgbs() == null || f.tgbs().size() != n) {
            throw new LogFormatException(where(key) + ": index segment does not cover steps [" + first + ", " + (first + n) + ")");
        }
        synchronized (segmentLock) {
            cachedSegmentKey = key;
            cachedSegment = f;
        }
        return f;
    }

    /** Lets a read-only log forget TGB entries below {@code step}, bounding its memory. */
    public synchronized void forgetBefore(long step) {
        if (!readOnly) {
            throw new IllegalStateException("only read-only logs may forget entries");
        }
        state = state.trimmedBefore(step);
    }

    // ---------------------------------------------------------------- committing

    /**
     * Commits what {@code prepare} returns for the newest state. {@code prepare} is called again
     * after every lost race, with the state that won; it validates (throwing to abort, e.g. when
     * fenced) and returns the changes, or {@link Changes#NONE} when nothing is left to commit.
     */
    public synchronized CommitResult commit(String committer, Function<ManifestState, Changes> prepare) {
        if (readOnly) {
            throw new IllegalStateException("log of " + store.describe() + " was opened read-only");
        }
        String token = UUID.randomUUID().toString();
        long deadline = System.currentTimeMillis() + COMMIT_TIMEOUT_MS;
        int attempts = 0;
        int conflicts = 0;
        long backoff = 1;
        while (true) {
            ManifestState s = refreshRetrying(deadline);
            Changes ch = prepare.apply(s);
            if (ch == null || ch.isEmpty()) {
                return new CommitResult(false, s.version(), s.committedSteps(), 0, attempts, conflicts, s);
            }
            long v = s.version() + 1;
            VersionFile vf = new VersionFile(v, token, committer, System.currentTimeMillis(), s.committedSteps(),
                    new TreeMap<>(ch.producers()), ch.tgbs(), ch.checkpoints(), ch.reclaimedBelowStep(), ch.controls());
            byte[] bytes = Json.write(vf);
            FailPoints.hit(FailPoints.BEFORE_VERSION_PUT);
            attempts++;
            boolean ours;
            try {
                ours = store.putIfAbsent(versionKey(v), bytes) || isOurs(v, token, deadline);
            } catch (StoreException e) {
                ours = resolveAmbiguous(v, token, bytes, e, deadline);
            }
            if (ours) {
                FailPoints.hit(FailPoints.AFTER_VERSION_PUT);
                ManifestState ns = s.apply(vf, where(versionKey(v)));
                state = ns;
                newestVersionMillis = vf.timestampMillis();
                maybeSnapshot();
                return new CommitResult(true, v, s.committedSteps(), vf.tgbs().size(), attempts, conflicts, state);
            }
            conflicts++;
            if (System.currentTimeMillis() > deadline) {
                throw new StoreException("commit by " + committer + " to " + store.describe() + " lost " + conflicts
                        + " races in a row and timed out after " + COMMIT_TIMEOUT_MS + " ms", versionKey(v));
            }
            sleepJittered(backoff);
            backoff = Math.min(backoff * 2, 64);
        }
    }

    /** The version key was taken: by an earlier attempt of ours whose confirmation was lost? */
    private boolean isOurs(long v, String token, long deadline) {
        while (true) {
            try {
                Optional<VersionFile> got = readVersion(v);
                if (got.isEmpty()) {
                    throw new LogFormatException(where(versionKey(v)) + " vanished after a conditional write found it present");
                }
                return token.equals(got.get().commitToken());
            } catch (StoreException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new CommitStateUnknownException("cannot read back " + where(versionKey(v)) + " to learn whether "
                            + "this commit won it: " + e.getMessage(), e);
                }
                sleepJittered(10);
            }
        }
    }

    /**
     * The put failed without saying whether it happened. Read the key: ours, theirs, or absent
     * (then the put did not happen, or has not landed: retrying the same bytes is safe because
     * only one put-if-absent can ever win the key).
     */
    private boolean resolveAmbiguous(long v, String token, byte[] bytes, StoreException cause, long deadline) {
        String key = versionKey(v);
        StoreException last = cause;
        for (int i = 0; i < 20 && System.currentTimeMillis() <= deadline; i++) {
            try {
                Optional<VersionFile> got = readVersion(v);
                if (got.isPresent()) {
                    return token.equals(got.get().commitToken());
                }
                if (store.putIfAbsent(key, bytes)) {
                    return true;
                }
            } catch (StoreException e) {
                last = e;
            }
            sleepJittered(Math.min(1L << Math.min(i, 6), 64));
        }
        throw new CommitStateUnknownException("commit of " + where(key) + ": the write failed ambiguously and its outcome "
                + "could not be read back (" + last.getMessage() + "); re-open the stream to learn the producer's committed state",
                last);
    }

    private ManifestState refreshRetrying(long deadline) {
        long backoff = 1;
        while (true) {
            try {
                return refresh();
            } catch (StoreException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                sleepJittered(backoff);
                backoff = Math.min(backoff * 2, 100);
            }
        }
    }

    private static void sleepJittered(long maxMillis) {
        long ms = ThreadLocalRandom.current().nextLong(maxMillis + 1);
        try {
            if (ms > 0) {
                Thread.sleep(ms);
            } else {
                Thread.onSpinWait();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while backing off", e);
        }
    }

    /**
     * Writes a snapshot when the committed version is a multiple of the interval, or when the
     * last one is two intervals old (a committer died before writing one). Best effort: a failed
     * snapshot only makes later opens read a few more versions.
     */
    private void maybeSnapshot() {
        ManifestState s = state;
        int n = config.snapshotInterval();
        boolean due = s.version() > 0 && (s.version() % n == 0 || s.version() - s.lastSnapshotVersion() >= 2L * n);
        if (!due || s.tailPartial()) {
            return;
        }
        FailPoints.hit(FailPoints.BEFORE_SNAPSHOT);
        try {
            // Complete index segments first (their content is fixed by the log, so concurrent
            // writers write identical bytes), then the snapshot that relies on them.
            long seg = config.indexSegmentSteps();
            long indexed = s.indexedSteps();
            while (indexed + seg <= s.committedSteps()) {
                int from = (int) (indexed - s.tailFirstStep());
                store.putIfAbsent(segmentKey(indexed), Json.write(new Snapshot.SegmentFile(indexed,
                        List.copyOf(s.tail().subList(from, from + (int) seg)))));
                indexed += seg;
            }
            ManifestState ns = s.withIndexed(s.version(), indexed);
            store.putIfAbsent(snapshotKey(s.version()), Json.write(ns.toSnapshot()));
            state = ns;
            store.put(HINT_KEY, Json.write(new Snapshot.Hint(s.version())));
        } catch (StoreException | FormatException e) {
            LOG.log(System.Logger.Level.WARNING, "snapshot at version " + s.version() + " of " + store.describe()
                    + " not written: " + e.getMessage());
        }
    }
}
