package io.lakestream.producer;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.testkit.s3.S3TestServer;

/** Every exactly-once test, on an s3:// stream served by a real S3 server (embedded S3Proxy). */
class S3ExactlyOnceTest extends ExactlyOnceTest {
    @Override
    ObjectStore store() {
        return ObjectStores.open(S3TestServer.newStreamUri("eo"), true);
    }
}
