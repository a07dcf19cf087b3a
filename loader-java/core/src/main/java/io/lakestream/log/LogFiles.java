package io.lakestream.log;

import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ReadBuffer;
import io.lakestream.store.StoreException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The files of one stream's log as they are read and written: where a key lives (for messages),
 * the snapshot hint, a version key's content, any log file parsed with the re-read-once rule, and
 * the form this stream's format version writes entries in. No state: the follower, the step
 * index, the snapshot writer and the commit all read through one of these.
 */
final class LogFiles {
    /** The log's one logger name, whichever of its parts logs (operators configure it by this name). */
    static final System.Logger LOG = System.getLogger(ManifestLog.class.getName());

    private final ObjectStore store;
    private final StreamConfig config;
    /** Versions other logs of this stream in this process already parsed, or null. */
    private final VersionCache cache;

    LogFiles(ObjectStore store, StreamConfig config, VersionCache cache) {
        this.store = store;
        this.config = config;
        this.cache = cache;
    }

    ObjectStore store() {
        return store;
    }

    /** Where an object of this stream lives, for messages. */
    String where(String key) {
        return store.describe() + "/" + key;
    }

    /**
     * {@link #where} of {@code key} as an object whose {@code toString()} builds the text: for
     * validation that names the object only when it fails (every commit and every followed
     * version validates; issue 23's garbage per batch).
     */
    Object whereLater(String key) {
        return new Where(this, key);
    }

    private record Where(LogFiles files, String key) {
        @Override
        public String toString() {
            return files.where(key);
        }
    }

    /** The snapshot hint, or null if there is none or it cannot be read (it is only a hint). */
    Snapshot.Hint readHint() {
        try {
            Optional<byte[]> hb = store.getIfPresent(StreamLayout.SNAPSHOT_HINT);
            return hb.isEmpty() ? null : Json.read(hb.get(), Snapshot.Hint.class, where(StreamLayout.SNAPSHOT_HINT));
        } catch (FormatException | StoreException e) {
            LOG.log(System.Logger.Level.DEBUG, "ignoring unreadable snapshot hint: " + e.getMessage());
            return null;
        }
    }

    /** A version key's content: the version, a tombstone (reclaimed by log GC), or nothing yet. */
    record VersionSlot(VersionFile file, boolean reclaimed) {
        static final VersionSlot ABSENT = new VersionSlot(null, false);
        static final VersionSlot RECLAIMED = new VersionSlot(null, true);

        boolean absent() {
            return file == null && !reclaimed;
        }
    }

    VersionSlot readVersion(long v) {
        VersionFile known = cache == null ? null : cache.get(config, v);
        if (known != null) {
            return new VersionSlot(known, false);
        }
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
            VersionFile f;
            try {
                f = VersionParser.parse(b.get(), () -> "manifest version " + where(key));
            } catch (FormatException e) {
                last = e; // a torn transfer heals on re-read; corruption does not
                continue;
            }
            if (cache != null) {
                cache.put(config, v, f);
            }
            return new VersionSlot(f, false);
        }
        throw new LogFormatException(last.getMessage(), store.describe(), key, last);
    }

    /** As {@link #readIfPresent}, for a file that must exist: {@link NoSuchKeyException} if it does not. */
    <T> T readJson(String key, Class<T> type) {
        return readIfPresent(key, type, "").orElseThrow(() -> new NoSuchKeyException(store.describe(), key));
    }

    /**
     * Index segment {@code key}, read and parsed as {@link #readJson} reads a file, by
     * {@link SegmentParser} (most of a catching-up reader's garbage was data binding's, issue 23).
     */
    Snapshot.SegmentFile readSegment(String key) {
        String where = where(key);
        return read(key, b -> SegmentParser.parse(b, b.length, where)).orElseThrow(() -> new NoSuchKeyException(store.describe(), key));
    }

    /** As {@link #readSegment(String)}, its bytes read into {@code buffer} (the caller's, reused from segment to segment). */
    Snapshot.SegmentFile readSegment(String key, ReadBuffer buffer) {
        String where = where(key);
        return readTwice(key, () -> store.getIfPresent(key, buffer)
                ? Optional.of(SegmentParser.parse(buffer.array(), buffer.length(), where))
                : Optional.<Snapshot.SegmentFile>empty())
                .orElseThrow(() -> new NoSuchKeyException(store.describe(), key));
    }

    /**
     * Reads and parses a log file. A parse failure is read once more: a torn transfer heals on
     * re-read, real corruption does not and is reported naming the file. (Transient store errors
     * were already retried by the store's retry layer.)
     */
    <T> Optional<T> readIfPresent(String key, Class<T> type, String what) {
        String where = what + where(key);
        return read(key, b -> Json.read(b, type, where));
    }

    private <T> Optional<T> read(String key, java.util.function.Function<byte[], T> parse) {
        return readTwice(key, () -> {
            Optional<byte[]> b = store.getIfPresent(key);
            return b.isEmpty() ? Optional.empty() : Optional.of(parse.apply(b.get()));
        });
    }

    /**
     * One read and parse ({@code attempt}: empty when the file is absent), made once more after a
     * parse failure; the second failure is reported naming the file.
     */
    private <T> Optional<T> readTwice(String key, java.util.function.Supplier<Optional<T>> attempt) {
        FormatException last = null;
        for (int i = 0; i < 2; i++) {
            try {
                return attempt.get();
            } catch (FormatException e) {
                last = e;
            }
        }
        throw new LogFormatException(last.getMessage(), store.describe(), key, last);
    }

    /** {@code tgbs} in the form this stream's format version writes (compact shard tables in version 2). */
    List<TgbEntry> inStreamForm(List<TgbEntry> tgbs) {
        int v = config.formatVersion();
        for (int i = 0; i < tgbs.size(); i++) {
            if (tgbs.get(i).inForm(v) != tgbs.get(i)) {
                List<TgbEntry> out = new ArrayList<>(tgbs.size());
                for (TgbEntry t : tgbs) {
                    out.add(t.inForm(v));
                }
                return out;
            }
        }
        return tgbs; // the common case, entries already in the stream's form: no copy per commit
    }
}
