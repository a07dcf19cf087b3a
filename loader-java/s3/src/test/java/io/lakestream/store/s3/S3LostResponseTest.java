package io.lakestream.store.s3;

import io.lakestream.log.StreamLayout;
import io.lakestream.testkit.s3.EmbeddedS3Server;
import io.lakestream.testkit.s3.FaultyHttpProxy;
import io.lakestream.testkit.s3.S3TestServer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Faults on the wire between the S3 client and a real S3 server: a conditional PUT that the
 * server executes but whose response never arrives, and 503 SlowDown answers.
 */
class S3LostResponseTest {
    private static String throughProxy(String bucket, FaultyHttpProxy proxy) {
        EmbeddedS3Server srv = S3TestServer.server();
        return srv.streamUri(bucket, "stream").replace("endpoint=" + srv.endpoint(), "endpoint=" + proxy.endpoint());
    }

    private static boolean conditionalPutOf(String head, String key) {
        return head.startsWith("PUT ") && head.contains(key + " ") && head.toLowerCase().contains("\r\nif-none-match:");
    }

    @Test
    void conditionalPutWhoseResponseIsLostIsReportedNotCreatedAndWrittenOnce() throws Exception {
        String bucket = S3TestServer.newBucket("lost-wire");
        String key = StreamLayout.versionKey(1);
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(S3TestServer.server().endpoint())) {
            AtomicInteger n = new AtomicInteger();
            proxy.dropResponseWhen(h -> conditionalPutOf(h, key) && n.getAndIncrement() == 0);
            try (ObjectStore store = ObjectStores.open(throughProxy(bucket, proxy), true)) {
                byte[] v = "{\"commit_token\":\"mine\"}".getBytes(StandardCharsets.UTF_8);
                // the first PUT created the object; its retry meets 412: "not created", no exception
                assertFalse(store.putIfAbsent(key, v));
                assertArrayEquals(v, store.get(key));
            }
            List<FaultyHttpProxy.Seen> puts = proxy.seen().stream()
                    .filter(s -> s.method().equals("PUT") && s.target().contains(key)).toList();
            assertEquals(2, puts.size(), "one retry: " + puts);
            assertEquals(200, puts.get(0).upstreamStatus(), "the server did create it: " + puts);
            assertEquals("dropped", puts.get(0).fault());
            assertEquals(412, puts.get(1).upstreamStatus(), "the retry lost to our own write: " + puts);
        }
    }

    @Test
    void manifestLogCommitsExactlyOnceWhenEveryFirstResponseIsLost() throws Exception {
        String bucket = S3TestServer.newBucket("lost-wire-log");
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(S3TestServer.server().endpoint())) {
            Set<String> droppedOnce = ConcurrentHashMap.newKeySet();
            // the first conditional PUT of every version file succeeds on the server, its answer is lost
            proxy.dropResponseWhen(h -> {
                if (!h.startsWith("PUT ") || !h.toLowerCase().contains("\r\nif-none-match:") || !h.contains("/_log/")) {
                    return false;
                }
                return droppedOnce.add(h.substring(0, h.indexOf(' ', 4)));
            });
            try (ObjectStore store = ObjectStores.open(throughProxy(bucket, proxy), true)) {
                ManifestLog.openOrCreate(store, StreamConfig.of(1));
                ManifestLog log = ManifestLog.open(store);
                int commits = 5;
                for (long seq = 1; seq <= commits; seq++) {
                    long s = seq;
                    CommitResult r = log.commit("p", st -> {
                        ProducerState mine = st.producer("p");
                        return mine != null && mine.seq() >= s ? Changes.NONE
                                : new Changes(Map.of("p", new ProducerState(1, s, "cursor-" + s)), List.of(), List.of());
                    });
                    assertTrue(r.committed(), "commit " + seq + " recognised as ours");
                    assertEquals(0, r.conflicts(), "our own lost write is not a conflict");
                }
                assertTrue(droppedOnce.size() >= commits, "responses were dropped: " + droppedOnce);
                ManifestLog fresh = ManifestLog.open(store, true);
                assertEquals(commits, fresh.state().producer("p").seq());
                long versionFiles = store.list(StreamLayout.LOG_PREFIX, null, 1000).stream()
                        .filter(o -> StreamLayout.parse(o.key()) instanceof StreamLayout.Version).count();
                assertEquals(commits, versionFiles, "one version per commit, none doubled: " + store.list("", null, 1000));
            }
        }
    }

    @Test
    void slowDownIsRetriedWithBackoff() throws Exception {
        String bucket = S3TestServer.newBucket("slowdown");
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(S3TestServer.server().endpoint())) {
            AtomicInteger n = new AtomicInteger();
            proxy.slowDownWhen(h -> h.startsWith("PUT ") && h.contains("/busy ") && n.getAndIncrement() < 4);
            try (ObjectStore store = ObjectStores.open(throughProxy(bucket, proxy), true)) {
                assertTrue(store.putIfAbsent("busy", new byte[] {1, 2, 3}));
                assertArrayEquals(new byte[] {1, 2, 3}, store.get("busy"));
            }
            long slow = proxy.seen().stream().filter(s -> "slowdown".equals(s.fault())).count();
            assertEquals(4, slow, "4 SlowDown answers were met and retried past: " + proxy.seen());
        }
    }

    @Test
    void producerSurvivesALostResponseOnItsBatchObject() throws Exception {
        String bucket = S3TestServer.newBucket("lost-wire-batch");
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(S3TestServer.server().endpoint())) {
            AtomicInteger n = new AtomicInteger();
            // the first batch object is created on the server, but its PUT's answer is lost
            proxy.dropResponseWhen(h -> h.startsWith("PUT ") && h.contains("/data/") && h.toLowerCase().contains("\r\nif-none-match:")
                    && n.getAndIncrement() == 0);
            try (ObjectStore store = ObjectStores.open(throughProxy(bucket, proxy), true)) {
                SyntheticSource src = SyntheticSource.parse("synthetic:records=64,seed=3", 16);
                try (TgbProducer p = TgbProducer.open(store, "p0", StreamConfig.of(2), ProducerOptions.defaults())) {
                    long next = src.startIndex();
                    for (int step = 0; step < 4; step++) {
                        long[] ids = src.take(next, 16);
                        next = src.after(ids[ids.length - 1]);
                        p.append(src.globalBatch(ids, 2), SyntheticSource.cursor(next));
                    }
                    p.commit();
                    assertEquals(4, p.committedSeq());
                }
                assertTrue(n.get() >= 1, "a response was dropped");
                assertEquals(4, ManifestLog.open(store, true).state().committedSteps());
            }
        }
    }
}
