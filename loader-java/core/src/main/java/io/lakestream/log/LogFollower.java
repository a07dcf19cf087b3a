package io.lakestream.log;

import static io.lakestream.log.LogFiles.LOG;

import io.lakestream.format.FormatException;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Loads a stream's state from its log and follows the log forward: the newest loadable snapshot
 * and the versions after it, then every version that exists now, telling a version not committed
 * yet from one already reclaimed by log GC with the {@link HeadGuard}. Pure: it returns states
 * and confirms the head; holding them (and the mutex) is {@link ManifestLog}'s job.
 */
final class LogFollower {
    /** Listings of the log that found it changing underneath (GC racing them) before giving up. */
    static final int LISTING_ATTEMPTS = 5;

    private final ObjectStore store;
    private final StreamConfig config;
    private final Clock clock;
    private final LogFiles files;
    private final HeadGuard guard;

    LogFollower(StreamConfig config, Clock clock, LogFiles files, HeadGuard guard) {
        this.store = files.store();
        this.config = config;
        this.clock = clock;
        this.files = files;
        this.guard = guard;
    }

    /** The state of the log now: from the snapshot the hint names (else the newest listed), then followed to the head. */
    ManifestState load() {
        Snapshot.Hint hint = files.readHint();
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
                    case StreamLayout.Unknown u -> LOG.log(System.Logger.Level.WARNING, "ignoring unrecognised key "
                            + files.where(u.key()) + ": " + u.reason());
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
                Snapshot snap = files.readJson(StreamLayout.snapshotKey(sv), Snapshot.class);
                if (snap.version() != sv) {
                    throw new LogFormatException(files.where(StreamLayout.snapshotKey(sv)) + ": holds version " + snap.version());
                }
                s = ManifestState.fromSnapshot(config, snap, files.where(StreamLayout.snapshotKey(sv)));
            } catch (FormatException | NoSuchKeyException e) {
                // A bad or vanished snapshot is skipped: an older one (or the versions) can stand in.
                LOG.log(System.Logger.Level.WARNING, "skipping unusable snapshot " + sv + ": " + e.getMessage());
                continue;
            }
            checkContiguous(versions, sv);
            guard.confirm(newestListed, listedAt);
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
        guard.confirm(newestListed, listedAt);
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

    /**
     * Applies every version after {@code s} that exists now.
     *
     * <p>A version absent from the store is either not committed yet or committed and already
     * reclaimed by log GC (a follower that fell behind). The two are told apart by this process's
     * own monotonic time since it last confirmed the head (see {@link HeadGuard}): while
     * that is under half the log grace, no version above the confirmed head can have been
     * reclaimed yet, so the absent version is not committed, and this GET confirms the head anew.
     * Otherwise one LIST past our version settles it: nothing later means we are at the head;
     * later files mean the next version was reclaimed, and we reload from the newest snapshot.
     */
    ManifestState follow(ManifestState s) {
        for (int races = 0; ; ) {
            long askedAt = clock.monotonicNanos();
            LogFiles.VersionSlot v = files.readVersion(s.version() + 1);
            if (v.file() != null) {
                s = s.apply(v.file(), files.whereLater(StreamLayout.versionKey(s.version() + 1)));
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
            if (guard.fresh(s.version(), config.logGraceMs() / 2)) {
                guard.confirm(s.version(), askedAt);
                return s;
            }
            askedAt = clock.monotonicNanos();
            String after = StreamLayout.logAfter(s.version());
            List<ObjectInfo> next = store.list(StreamLayout.LOG_PREFIX, after, 1);
            if (next.isEmpty() || !isLaterLogFile(next.get(0).key(), s.version())) {
                guard.confirm(s.version(), askedAt);
                return s;
            }
            if (!files.readVersion(s.version() + 1).absent()) {
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

    /** Whether log key {@code key} is a version or snapshot above {@code version} (the hint and other keys are not). */
    static boolean isLaterLogFile(String key, long version) {
        return switch (StreamLayout.parse(key)) {
            case StreamLayout.Version v -> v.version() > version;
            case StreamLayout.Snapshot sn -> sn.version() > version;
            default -> false;
        };
    }
}
