package io.lakestream.store;

import java.net.URI;

/**
 * A store for one URI scheme, found by {@link ObjectStores} through {@link java.util.ServiceLoader}
 * (a {@code META-INF/services/io.lakestream.store.ObjectStoreProvider} entry in the store's jar).
 * The core knows only {@code file://}; every other store is a module a job adds to its class
 * path, so the core never depends on a store's SDK.
 */
public interface ObjectStoreProvider {
    /** The URI scheme served, lower case (e.g. {@code "s3"}). */
    String scheme();

    /**
     * Opens the store at {@code uri}.
     *
     * @param create whether a missing location may be created (stores that cannot create, e.g. a
     *               bucket, ignore it)
     * @throws InvalidStreamUriException (or IllegalArgumentException, which the caller turns into
     *                                   one) for a URI this store cannot use, naming what is wrong
     */
    ObjectStore open(URI uri, boolean create);
}
