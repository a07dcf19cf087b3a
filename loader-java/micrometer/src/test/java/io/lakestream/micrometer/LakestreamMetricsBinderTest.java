package io.lakestream.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.metrics.Metrics;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lakestream's own meters, seen through a Micrometer registry while a producer and a reader run. */
class LakestreamMetricsBinderTest {
    @TempDir
    Path dir;

    @Test
    void aMicrometerRegistrySeesTheCoreMetersMoveAndMetersRegisteredLater() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new LakestreamMetricsBinder().bindTo(registry);
        FunctionCounter bytes = registry.get("lakestream.reader.bytes").functionCounter();
        FunctionTimer commits = registry.get("lakestream.producer.commit").functionTimer();
        FunctionCounter ranged = registry.get("lakestream.store.requests").tag("op", "get_range").functionCounter();
        assertNotNull(registry.get("lakestream.pool.slabs.in.use").gauge());
        assertNotNull(registry.get("lakestream.producer.lag.steps").gauge());
        double bytes0 = bytes.count();
        double commits0 = commits.count();
        double ranged0 = ranged.count();

        try (ObjectStore store = ObjectStores.open("file://" + dir, true)) {
            try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(1), ProducerOptions.defaults())) {
                for (int s = 0; s < 3; s++) {
                    p.append(List.of(Map.of("x", TensorData.ofLongs(new long[] {s}, 1))), "next=" + (s + 1));
                    p.commit();
                }
            }
            try (RankReader r = RankReader.open(store, 0, 1, 0, ReaderOptions.defaults())) {
                for (int s = 0; s < 3; s++) {
                    try (StepBatch b = r.next(10_000)) {
                        assertEquals(s, b.step());
                    }
                }
            }
        }
        assertTrue(bytes.count() > bytes0, "reader bytes moved");
        assertTrue(commits.count() >= commits0 + 3, "3 commits timed");
        assertTrue(commits.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) > 0);
        assertTrue(ranged.count() >= ranged0 + 3, "a ranged GET per step");

        Metrics.global().counter("lakestream_test_later_total", "registered after binding").add(5);
        assertEquals(5.0, registry.get("lakestream.test.later").functionCounter().count());
    }
}
