package io.lakestream.log;

import io.lakestream.StreamEnv;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreProbe;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.store.UnsafeStoreException;

/**
 * How a stream's log is opened: {@code ManifestLog.opener(store).env(env).readOnly(true)
 * .worldSize(w).open()}, or {@code .openOrCreate(template)}. The static
 * {@code ManifestLog.open}/{@code openOrCreate} overloads are shorthands for it.
 */
public final class LogOpener {
    private static final System.Logger LOG = LogFiles.LOG;

    private final ObjectStore store;
    private StreamEnv env;
    private boolean readOnly;
    private int worldSize = -1;
    private boolean allowUnsafeStore;
    private VersionCache versions;

    LogOpener(ObjectStore store) {
        this.store = store;
    }

    /** The environment (clock, fail points, threads) the log and everything built on it uses; the defaults if not given. */
    public LogOpener env(StreamEnv env) {
        this.env = env;
        return this;
    }

    /** Opens it read-only: it may drop consumed tail entries to bound memory, and never commits. */
    public LogOpener readOnly(boolean readOnly) {
        this.readOnly = readOnly;
        return this;
    }

    /** Checks that the stream has this world size ({@link WorldSizeMismatchException} otherwise). */
    public LogOpener worldSize(int worldSize) {
        this.worldSize = worldSize;
        return this;
    }

    /**
     * Shares parsed manifest versions with the other logs of this stream that use {@code cache}
     * (those one {@code Lakestream} handle opens): a version one of them read is not read and
     * parsed again by the others. Null (the default): none shared.
     */
    public LogOpener versionCache(VersionCache cache) {
        this.versions = cache;
        return this;
    }

    /**
     * Lets {@link #openOrCreate} create a stream on a store that fails the put-if-absent probe
     * (logged as a warning): exactly-once is then not guaranteed.
     */
    public LogOpener allowUnsafeStore(boolean allowUnsafeStore) {
        this.allowUnsafeStore = allowUnsafeStore;
        return this;
    }

    /**
     * Opens the existing stream.
     *
     * @throws StreamNotFoundException if it has no config
     * @throws WorldSizeMismatchException if a world size was given and the stream has another
     */
    public ManifestLog open() {
        ManifestLog log = ManifestLog.load(store, readConfig(store), readOnly, env(), versions);
        if (worldSize >= 0 && log.config().worldSize() != worldSize) {
            throw new WorldSizeMismatchException(store.describe(), log.config().worldSize(), worldSize);
        }
        return log;
    }

    /**
     * Opens the stream, creating it with {@code template} if absent. Before creating a stream the
     * store is probed once ({@link StoreProbe#requireSafe}): a store whose conditional writes can
     * have two winners would break exactly-once silently, so it is refused unless
     * {@link #allowUnsafeStore}.
     *
     * @throws UnsafeStoreException if the stream is absent and the store fails the probe
     * @throws WorldSizeMismatchException if it exists with another world size
     * @throws IllegalArgumentException if a world size was given that is not the template's
     */
    public ManifestLog openOrCreate(StreamConfig template) {
        if (worldSize >= 0 && worldSize != template.worldSize()) {
            throw new IllegalArgumentException("world size " + worldSize + " given, but the template's is " + template.worldSize());
        }
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
        ManifestLog log = ManifestLog.load(store, readConfig(store), readOnly, env(), versions);
        if (!created && log.config().worldSize() != template.worldSize()) {
            throw new WorldSizeMismatchException(store.describe(), log.config().worldSize(), template.worldSize());
        }
        return log;
    }

    private StreamEnv env() {
        return env == null ? StreamEnv.defaults() : env;
    }

    /** @see ManifestLog#readConfig */
    static StreamConfig readConfig(ObjectStore store) {
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
}
