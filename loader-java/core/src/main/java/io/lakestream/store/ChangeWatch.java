package io.lakestream.store;

/**
 * A store's own signal that objects appeared under one prefix, so that a follower waiting for
 * the next log version need not ask the store every few milliseconds ({@link ObjectStore#watch}).
 *
 * <p>A hint, never the truth: the caller still reads (a GET of the version it wants) after a
 * signal, and still looks at a slow fallback pace without one, since a signal can be late or
 * missing (another host writing to a shared file system, a directory replaced under the watch).
 */
public interface ChangeWatch extends AutoCloseable {
    /**
     * Waits up to {@code nanos} for an object created under the prefix since the previous call
     * (objects created before it, while nobody waited, count at once).
     *
     * @return true if one was (or may have been) created; false when the time ran out, the watch
     *         was closed, or it stopped working ({@link #broken})
     */
    boolean await(long nanos) throws InterruptedException;

    /** True once the watch can no longer signal (its directory went away): poll instead. */
    boolean broken();

    /** Stops watching; a waiting {@link #await} returns false. Idempotent. */
    @Override
    void close();
}
