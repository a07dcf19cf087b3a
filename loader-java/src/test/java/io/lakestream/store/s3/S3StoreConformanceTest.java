package io.lakestream.store.s3;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStoreConformanceTest;
import io.lakestream.store.ObjectStores;

/** The contract on {@code s3://} against a real S3 server (embedded S3Proxy), through ObjectStores.open. */
class S3StoreConformanceTest extends ObjectStoreConformanceTest {
    @Override
    protected ObjectStore newStore() {
        return ObjectStores.open(S3TestServer.newStreamUri("conformance"), true);
    }
}
