package io.lakestream.store.s3;

import io.lakestream.testkit.s3.EmbeddedS3Server;
import io.lakestream.testkit.s3.FaultyHttpProxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Batch delete through DeleteObjects, 1000 keys a call. The shared test server refuses the
 * checksum header the SDK sends with DeleteObjects (so the store falls back to single deletes,
 * which the conformance suite covers); this test uses a server that ignores unknown headers to
 * exercise the batch path itself, counted through a proxy.
 */
class S3BatchDeleteTest {
    @Test
    void deleteAllGoesInBatchesOfOneThousand() throws Exception {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(true);
             FaultyHttpProxy proxy = new FaultyHttpProxy(server.endpoint())) {
            server.createBucket("batch");
            String uri = server.streamUri("batch", "stream").replace("endpoint=" + server.endpoint(), "endpoint=" + proxy.endpoint());
            // written directly (pooled connections), deleted through the counting proxy
            try (ObjectStore direct = ObjectStores.open(server.streamUri("batch", "stream"), true);
                 ObjectStore store = ObjectStores.open(uri, true)) {
                List<String> keys = new ArrayList<>();
                for (int i = 0; i < 2100; i++) {
                    keys.add(String.format("data/p/%08d.tgb", i));
                }
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    List<Future<?>> fs = new ArrayList<>();
                    for (String k : keys) {
                        fs.add(pool.submit(() -> direct.put(k, new byte[] {1})));
                    }
                    for (Future<?> f : fs) {
                        f.get();
                    }
                } finally {
                    pool.shutdownNow();
                }
                store.put("keep", new byte[] {2});
                List<String> toDelete = new ArrayList<>(keys);
                toDelete.add("data/p/never-written.tgb"); // absent keys are fine
                store.deleteAll(toDelete);
                assertEquals(List.of("keep"), store.list("", null, 10_000).stream().map(o -> o.key()).toList());
            }
            long batches = proxy.seen().stream().filter(s -> s.method().equals("POST") && s.target().contains("delete")).count();
            long singles = proxy.seen().stream().filter(s -> s.method().equals("DELETE")).count();
            assertEquals(3, batches, "2101 keys in 3 DeleteObjects calls: " + batches);
            assertEquals(0, singles, "no single deletes");
            assertTrue(proxy.seen().stream().filter(s -> s.method().equals("POST")).allMatch(s -> s.upstreamStatus() == 200));
        }
    }
}
