package io.lakestream.store;

import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The only shared state Lakestream has: a flat key space of immutable objects with one
 * conditional write. Keys are relative to the stream root and validated by {@link Keys}.
 *
 * <p>Contract every implementation must meet (the conformance suite checks it):
 * <ul>
 *   <li>{@link #putIfAbsent} is atomic across processes and machines: of concurrent callers on
 *       one key exactly one gets {@code true}; the object becomes visible whole or not at all.</li>
 *   <li>A reader never sees a partial object; after a successful put the object is durable.</li>
 *   <li>{@link #list} returns keys in ascending binary (UTF-8) order, strictly after
 *       {@code startAfter}.</li>
 * </ul>
 * Failures are {@link StoreException}s. A failure of a write does not say whether the write
 * happened (the response may have been lost): callers that must know read the key back.
 */
public interface ObjectStore extends AutoCloseable {

    /** A human-readable location of the store root, with no secrets in it. */
    String describe();

    /** Whole object. @throws NoSuchKeyException if absent. */
    byte[] get(String key);

    /** Whole object if present. */
    default Optional<byte[]> getIfPresent(String key) {
        try {
            return Optional.of(get(key));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        }
    }

    /**
     * As {@link #getIfPresent(String)}, into {@code into} (its content replaced, its array reused
     * when large enough) instead of a new array: for a reader that parses an object and drops
     * its bytes. False, and {@code into} unchanged, if absent. The same one request; this
     * default copies from {@link #getIfPresent(String)}, a store that can read into the buffer
     * directly does.
     */
    default boolean getIfPresent(String key, ReadBuffer into) {
        Optional<byte[]> b = getIfPresent(key);
        if (b.isEmpty()) {
            return false;
        }
        byte[] a = b.get();
        System.arraycopy(a, 0, into.fill(a.length), 0, a.length);
        return true;
    }

    /**
     * Reads exactly {@code dst.byteSize()} bytes starting at {@code offset} into {@code dst}.
     *
     * @throws NoSuchKeyException if the object is absent
     * @throws StoreException if the object is shorter than {@code offset + dst.byteSize()}
     */
    void readRange(String key, long offset, MemorySegment dst);

    /** Creates or replaces the object. */
    void put(String key, byte[] data);

    /**
     * Creates the object only if no object exists at {@code key}.
     *
     * @return true if this call created it, false if an object already existed
     */
    boolean putIfAbsent(String key, byte[] data);

    /**
     * As {@link #putIfAbsent(String, byte[])}, from (off-heap) memory, without a heap copy where
     * the store can avoid one. The bytes are durable when this returns; with {@code syncName}
     * false the store may leave the new <em>name</em> not yet durable (file://: the directory is
     * not fsynced) until {@link #syncNames} is called with the key, so a writer of many objects
     * pays one directory sync per directory, not one per object. Visibility is immediate either way.
     */
    default boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        return putIfAbsent(key, data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /**
     * As {@link #putIfAbsent(String, MemorySegment, boolean)}, running {@code beforePublish} at the
     * last moment before the object can become visible: after its bytes are durable and before its
     * name appears (file://: between the temporary file's fdatasync and the {@code link(2)} that
     * publishes it). A writer overlaps there what must precede publication but not the write (the
     * manifest log: the directory sync of the batch objects a version names). If it throws, nothing
     * is published and its exception propagates. It may run although the key turns out to be
     * taken, and runs again if the write is retried, so it must be idempotent. A store without such
     * a moment runs it first (this default).
     */
    default boolean putIfAbsent(String key, MemorySegment data, boolean syncName, Runnable beforePublish) {
        beforePublish.run();
        return putIfAbsent(key, data, syncName);
    }

    /**
     * Makes the names of objects created by {@link #putIfAbsent(String, MemorySegment, boolean)}
     * with {@code syncName} false durable. A store whose writes are durable with their names
     * (S3) does nothing.
     */
    default void syncNames(Collection<String> keys) {
    }

    /** Size and modification time, if present. */
    Optional<ObjectInfo> stat(String key);

    /** Deletes; deleting an absent key is not an error. */
    void delete(String key);

    /** Deletes many keys; implementations batch where the store allows. */
    default void deleteAll(Collection<String> keys) {
        for (String k : keys) {
            delete(k);
        }
    }

    /**
     * Objects whose key starts with {@code prefix} and sorts strictly after {@code startAfter}
     * (null for no bound), ascending, at most {@code limit} of them.
     */
    List<ObjectInfo> list(String prefix, String startAfter, int limit);

    /**
     * A signal that objects appeared under {@code prefix} (a directory-like prefix ending in '/'),
     * for a follower that would otherwise poll; null where this store has none (the default),
     * and the caller polls. The caller owns and closes it. A signal is a hint (see {@link ChangeWatch}).
     */
    default ChangeWatch watch(String prefix) {
        return null;
    }

    @Override
    void close();
}
