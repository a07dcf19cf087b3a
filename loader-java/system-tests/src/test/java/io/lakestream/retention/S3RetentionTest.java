package io.lakestream.retention;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.testkit.s3.S3TestServer;

/** Checkpoints, retention, GC and flow control on an s3:// stream (embedded S3Proxy). */
class S3RetentionTest extends RetentionTest {
    @Override
    ObjectStore store() {
        return ObjectStores.open(S3TestServer.newStreamUri("ret"), true);
    }
}
