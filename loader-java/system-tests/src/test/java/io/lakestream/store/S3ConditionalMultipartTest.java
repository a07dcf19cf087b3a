package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testkit.s3.EmbeddedS3Server;
import io.lakestream.testkit.s3.FaultyHttpProxy;
import io.lakestream.testkit.s3.S3TestServer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A conditional write big enough for a multipart upload (above the S3 store's 8 MiB part size),
 * through the fault proxy with the reply of its CompleteMultipartUpload (the request the
 * {@code If-None-Match} condition rides on) lost once. Whatever the server does with a
 * conditional completion, the outcome is settled by {@link ConditionalPut}: the object is created
 * exactly once with the writer's bytes, and a second writer finds it taken.
 *
 * <p>The embedded S3 server (S3Proxy) answers 501 to a conditional CompleteMultipartUpload, so
 * against it this test covers: the multipart upload getting through the proxy
 * ({@code Expect: 100-continue} on the parts), a lost reply of the completion, the SDK's retry of
 * it, the store's 501 fallback to one conditional PUT, and the settled outcome. A real conditional
 * completion retried after its reply was lost (the retry then meets NoSuchUpload, handled by
 * {@code S3Store.isLostCompletion}) needs a server that supports it (AWS S3); the test records
 * which of the two the server did.
 */
class S3ConditionalMultipartTest {
    @Test
    void aLostCompletionReplyOfAConditionalMultipartWriteIsSettledExactlyOnce() throws Exception {
        EmbeddedS3Server srv = S3TestServer.server();
        String bucket = S3TestServer.newBucket("multipart");
        byte[] data = new byte[9 << 20]; // > the 8 MiB part size: a multipart upload
        new Random(22).nextBytes(data);
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(srv.endpoint())) {
            String uri = srv.streamUri(bucket, "stream").replace("endpoint=" + srv.endpoint(), "endpoint=" + proxy.endpoint());
            AtomicBoolean dropped = new AtomicBoolean();
            proxy.dropResponseWhen(head -> head.startsWith("POST ") && head.contains("uploadId=") && dropped.compareAndSet(false, true));
            try (ObjectStore store = ObjectStores.open(uri, true)) {
                ConditionalPut.Outcome o = ConditionalPut.put(store, "data/p/00000001-000000000001.tgb", data,
                        found -> java.util.Arrays.equals(found, data));
                List<FaultyHttpProxy.Seen> seen = proxy.seen();
                List<FaultyHttpProxy.Seen> completions = seen.stream()
                        .filter(s -> s.method().equals("POST") && s.target().contains("uploadId=")).toList();
                long parts = seen.stream().filter(s -> s.method().equals("PUT") && s.target().contains("partNumber=")).count();
                System.out.println("[multipart] outcome " + o + "; parts through the proxy " + parts + "; completions "
                        + completions + "; all: " + seen.stream().map(s -> s.method() + " " + s.upstreamStatus()
                        + (s.fault() == null ? "" : " " + s.fault())).toList());
                assertTrue(parts >= 2, "the parts of a multipart upload got through the proxy: " + seen);
                assertTrue(dropped.get() && !completions.isEmpty() && "dropped".equals(completions.get(0).fault()),
                        "the completion's reply was lost: " + completions);
                assertTrue(completions.get(0).conditional(), "the condition rides on the completion");
                if (completions.get(0).upstreamStatus() == 501) {
                    // S3Proxy: conditional completion unsupported, the store fell back to one conditional PUT
                    assertTrue(seen.stream().anyMatch(s -> s.method().equals("PUT") && s.conditional() && !s.target().contains("partNumber=")
                            && s.upstreamStatus() == 200), "the fallback conditional PUT: " + seen);
                    assertEquals(ConditionalPut.Outcome.CREATED, o);
                } else {
                    // a server that completes conditionally: the lost reply is settled by reading back
                    assertEquals(200, completions.get(0).upstreamStatus());
                    assertTrue(o == ConditionalPut.Outcome.CREATED || o == ConditionalPut.Outcome.OURS, o.toString());
                }
                assertArrayEquals(data, store.get("data/p/00000001-000000000001.tgb"), "the writer's bytes, once");
                // a second writer of other bytes finds the key taken
                byte[] other = data.clone();
                other[0] ^= 1;
                assertEquals(ConditionalPut.Outcome.THEIRS, ConditionalPut.put(store, "data/p/00000001-000000000001.tgb", other,
                        found -> java.util.Arrays.equals(found, other)));
                assertEquals(1, store.list("data/", null, 10).size());
            }
        }
    }
}
