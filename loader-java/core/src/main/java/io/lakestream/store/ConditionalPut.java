package io.lakestream.store;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A put-if-absent whose outcome is settled, not guessed. A store answers a conditional write
 * with "created", "exists" (which may be this caller's own earlier attempt, landed but
 * unanswered: a retry then meets it) or an error that does not say whether the write happened.
 * The last two are settled by reading the key back: present → ours or theirs by its content;
 * absent after an unanswered write → it did not happen (or has not landed yet), and writing the
 * same bytes again is safe because only one put-if-absent can ever win the key.
 *
 * <p>This is a loop for meaning, not a retry of transient failures: the store's own retry layer
 * (below) has already done that for each call. At most two writes and two reads are made.
 */
public final class ConditionalPut {
    private ConditionalPut() {}

    /** How a conditional write ended. */
    public enum Outcome {
        /** This call created the object. */
        CREATED,
        /** The object holds this writer's bytes: an earlier attempt landed. */
        OURS,
        /** Another writer created the object first. */
        THEIRS,
        /** The write found the key taken, but it was gone when read back (deleted meanwhile). */
        VANISHED
    }

    /** Neither the write nor a read-back could tell whether the object was written. */
    public static final class OutcomeUnknownException extends StoreException {
        public OutcomeUnknownException(String message, String key, Throwable cause) {
            super(message, key, cause, false);
        }
    }

    /** No step before a rewrite. */
    private static final Runnable NOTHING = () -> { };

    /**
     * Writes {@code bytes} to {@code key} if absent and settles the outcome.
     *
     * @param isOurs whether bytes found at the key are this writer's (same commit token, same bytes)
     * @throws OutcomeUnknownException if the outcome cannot be learned from the store
     */
    public static Outcome put(ObjectStore store, String key, byte[] bytes, Predicate<byte[]> isOurs) {
        return put(store, key, bytes, isOurs, NOTHING);
    }

    /**
     * As {@link #put(ObjectStore, String, byte[], Predicate)}, calling {@code beforeRewrite} before
     * the bytes are written a second time (after an unanswered write and an absent read-back). A
     * caller whose keys can be deleted after they were written (the manifest log's versions, by
     * log GC) checks there that "absent" still means "never written", and throws
     * {@link OutcomeUnknownException} if it cannot tell.
     */
    public static Outcome put(ObjectStore store, String key, byte[] bytes, Predicate<byte[]> isOurs, Runnable beforeRewrite) {
        return settle(store, key, bytes, null, true, null, isOurs, beforeRewrite);
    }

    /**
     * As {@link #put(ObjectStore, String, byte[], Predicate)}, writing from (off-heap) memory with
     * {@link ObjectStore#putIfAbsent(String, MemorySegment, boolean)}: found bytes are ours when
     * they equal {@code bytes}. Builds no objects of its own (a producer calls it for every batch).
     */
    public static Outcome put(ObjectStore store, String key, MemorySegment bytes, boolean syncName) {
        return settle(store, key, null, bytes, syncName, null, null, NOTHING);
    }

    /**
     * As {@link #put(ObjectStore, String, byte[], Predicate, Runnable)}, writing from memory with
     * {@link ObjectStore#putIfAbsent(String, MemorySegment, boolean)} (with {@code syncName} true
     * the same write as from an array): a caller serialising into a reused buffer writes its
     * view, not an exact-size copy.
     */
    public static Outcome put(ObjectStore store, String key, MemorySegment bytes, boolean syncName, Predicate<byte[]> isOurs,
                              Runnable beforeRewrite) {
        return settle(store, key, null, bytes, syncName, null, isOurs, beforeRewrite);
    }

    /**
     * As {@link #put(ObjectStore, String, MemorySegment, boolean, Predicate, Runnable)}, with the
     * store running {@code beforePublish} before each write can publish the object
     * ({@link ObjectStore#putIfAbsent(String, MemorySegment, boolean, Runnable)}; null: none, the
     * plain write). Its failure is not a store's unanswered write: it propagates, and the key was
     * not written by this call.
     */
    public static Outcome put(ObjectStore store, String key, MemorySegment bytes, boolean syncName, Predicate<byte[]> isOurs,
                              Runnable beforeRewrite, Runnable beforePublish) {
        return settle(store, key, null, bytes, syncName, beforePublish, isOurs, beforeRewrite);
    }

    /**
     * The write ({@code heap} bytes, else {@code memory}; through the barrier when
     * {@code beforePublish} is set) and its settling. Found bytes are ours by {@code isOurs}, or
     * when null by equality with {@code memory}. Parameters, not a lambda per write: the batch
     * writers' calls allocate nothing here.
     */
    private static Outcome settle(ObjectStore store, String key, byte[] heap, MemorySegment memory, boolean syncName,
                                  Runnable beforePublish, Predicate<byte[]> isOurs, Runnable beforeRewrite) {
        StoreException unanswered = null;
        for (int write = 0; write < 2; write++) {
            if (write > 0) {
                beforeRewrite.run();
            }
            try {
                boolean created = heap != null ? store.putIfAbsent(key, heap)
                        : beforePublish == null ? store.putIfAbsent(key, memory, syncName)
                        : store.putIfAbsent(key, memory, syncName, beforePublish);
                if (created) {
                    return Outcome.CREATED;
                }
                unanswered = null;
            } catch (StoreException e) {
                unanswered = e;
            }
            Optional<byte[]> found;
            try {
                found = store.getIfPresent(key);
            } catch (StoreException e) {
                if (unanswered != null) {
                    e.addSuppressed(unanswered);
                }
                throw new OutcomeUnknownException("conditional write of " + key + " in " + store.describe() + ": "
                        + (unanswered != null ? "the write failed without an answer (" + unanswered.getMessage() + ") and"
                        : "the key was taken and") + " reading it back failed too: " + e.getMessage(), key, e);
            }
            if (found.isPresent()) {
                return (isOurs != null ? isOurs.test(found.get()) : sameBytes(found.get(), memory)) ? Outcome.OURS : Outcome.THEIRS;
            }
            if (unanswered == null) {
                return Outcome.VANISHED;
            }
            // absent after an unanswered write: write the same bytes once more
        }
        throw new OutcomeUnknownException("conditional write of " + key + " in " + store.describe() + " failed twice without an"
                + " answer and the key is still absent (" + unanswered.getMessage() + "); the write may yet land", key, unanswered);
    }

    private static boolean sameBytes(byte[] found, MemorySegment mine) {
        return MemorySegment.mismatch(MemorySegment.ofArray(found), 0, found.length, mine, 0, mine.byteSize()) == -1;
    }
}
