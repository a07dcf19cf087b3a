package io.lakestream.store.s3;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStoreProvider;
import java.net.URI;

/** Serves {@code s3://bucket/prefix} URIs to {@link io.lakestream.store.ObjectStores}. */
public final class S3StoreProvider implements ObjectStoreProvider {
    @Override
    public String scheme() {
        return "s3";
    }

    /** A bucket is never created: it must exist ({@code create} is ignored). */
    @Override
    public ObjectStore open(URI uri, boolean create) {
        return S3Store.open(uri);
    }
}
