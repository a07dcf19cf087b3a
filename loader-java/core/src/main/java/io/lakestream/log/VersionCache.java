package io.lakestream.log;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Manifest versions already read and parsed in this process, shared by the logs of one stream
 * that one {@code Lakestream} handle opens: its follower parses each new version once, and the
 * log the trainer records checkpoints through finds them here instead of reading and parsing
 * them again (in a trainer that was about a third of the checkpoint writer's CPU).
 *
 * <p>Why reusing a parsed version is safe: a version key is written once, by put-if-absent, and
 * later only replaced by a {@link VersionTombstone} when log GC reclaims it. Its content, once
 * read, is what was committed at that version for as long as the stream exists; a log that
 * applies it from here is in the state it would have reached had it read the key a moment
 * earlier. Absent keys are never cached, so the head guard's reasoning about a missing next
 * version (see {@link LogFollower#follow}) sees the store every time. Entries carry the config
 * of the stream they were read from: a stream deleted and created again at the same place has
 * another config (its creation time), and its logs do not see the old stream's versions.
 *
 * <p>A fixed ring indexed by version, lock-free: a reader that finds another version in the
 * slot (overwritten by a newer one) reads the store, as without a cache.
 */
public final class VersionCache {
    private record Slot(StreamConfig config, long version, VersionFile file) {}

    private final AtomicReferenceArray<Slot> slots;
    private final int mask;

    /** A cache of the newest {@code capacity} versions read (rounded up to a power of two). */
    public VersionCache(int capacity) {
        if (capacity < 1 || capacity > 1 << 20) {
            throw new IllegalArgumentException("version cache capacity must be 1..1048576, got " + capacity);
        }
        int n = capacity == 1 ? 1 : Integer.highestOneBit(capacity - 1) << 1;
        this.slots = new AtomicReferenceArray<>(n);
        this.mask = n - 1;
    }

    /** Version {@code v} of the stream whose config is {@code config}, if it was read here and is still held. */
    VersionFile get(StreamConfig config, long v) {
        Slot s = slots.get((int) (v & mask));
        return s != null && s.version == v && s.config.equals(config) ? s.file : null;
    }

    /** Remembers committed version {@code v} of {@code config}'s stream, as read from the store. */
    void put(StreamConfig config, long v, VersionFile file) {
        slots.set((int) (v & mask), new Slot(config, v, file));
    }

    /** How many slots it has. */
    public int capacity() {
        return mask + 1;
    }
}
