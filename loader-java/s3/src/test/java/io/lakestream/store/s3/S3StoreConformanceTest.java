package io.lakestream.store.s3;

import io.lakestream.testkit.s3.S3TestServer;

import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ObjectStoreConformanceSuite;
import io.lakestream.store.ObjectStores;

/** The contract on {@code s3://} against a real S3 server (embedded S3Proxy), through ObjectStores.open. */
class S3StoreConformanceTest extends ObjectStoreConformanceSuite {
    @Override
    protected ObjectStore newStore() {
        return ObjectStores.open(S3TestServer.newStreamUri("conformance"), true);
    }
}
