package io.lakestream.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorData;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real producer and reader on a file:// store opened as a user opens one: the global registry's
 * series move by what they did (deltas: other tests in this JVM add to the same registry), and a
 * Flight Recorder recording holds their commit and reader-wait events.
 */
class RecordedMetricsTest {
    private static final int STEPS = 6;

    @TempDir
    Path dir;

    @Test
    void aProducerAndAReaderMoveTheirSeriesAndEmitFlightRecorderEvents() throws Exception {
        Map<String, Double> before = Metrics.global().snapshot();
        Path jfr = dir.resolve("run.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("io.lakestream.Commit");
            rec.enable("io.lakestream.ReaderWait");
            rec.start();
            try (ObjectStore store = ObjectStores.open("file://" + dir.resolve("s"), true)) {
                try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(1), ProducerOptions.defaults())) {
                    for (int s = 0; s < STEPS; s++) {
                        p.append(List.of(Map.of("x", TensorData.ofLongs(new long[] {s, s + 1}, 2))), "next=" + (s + 1));
                        p.commit(); // one version per step
                    }
                }
                try (RankReader r = RankReader.open(store, 0, 1, 0, ReaderOptions.defaults())) {
                    for (int s = 0; s < STEPS; s++) {
                        try (StepBatch b = r.next(10_000)) {
                            assertEquals(s, b.step());
                            assertTrue(Metrics.global().snapshot().get("lakestream_pool_slabs_in_use") >= 1,
                                    "a batch held is a slab in use");
                        }
                    }
                }
            }
            rec.stop();
            rec.dump(jfr);
        }
        Map<String, Double> after = Metrics.global().snapshot();
        assertTrue(delta(before, after, "lakestream_producer_commit_seconds_count") >= STEPS, after.toString());
        assertTrue(delta(before, after, "lakestream_producer_batches_committed_total") >= STEPS);
        assertEquals(STEPS, delta(before, after, "lakestream_reader_steps_total"), 0.0);
        assertTrue(delta(before, after, "lakestream_reader_bytes_total") > 0);
        assertEquals(STEPS, delta(before, after, "lakestream_reader_wait_seconds_count"), 0.0);
        assertTrue(delta(before, after, "lakestream_store_requests_total{op=\"put_if_absent\"}") >= 2 * STEPS,
                "each step: its batch object and its version");
        assertTrue(delta(before, after, "lakestream_store_requests_total{op=\"get_range\"}") >= STEPS);
        assertTrue(delta(before, after, "lakestream_follower_log_polls_total") >= 1);
        assertTrue(after.containsKey("lakestream_producer_lag_steps"));
        assertTrue(after.containsKey("lakestream_producer_commit_conflicts_total"));
        double stall = after.get("lakestream_reader_data_stall_ratio");
        assertTrue(stall > 0 && stall <= 1, "stall share " + stall);

        List<RecordedEvent> events = RecordingFile.readAllEvents(jfr);
        List<Long> versions = new ArrayList<>();
        int waits = 0;
        for (RecordedEvent e : events) {
            if (e.getEventType().getName().equals("io.lakestream.Commit") && "p".equals(e.getString("producer"))) {
                versions.add(e.getLong("version"));
                assertTrue(e.getLong("latency") > 0);
            }
            if (e.getEventType().getName().equals("io.lakestream.ReaderWait")) {
                waits++;
            }
        }
        assertTrue(versions.size() >= STEPS, "commit events " + versions);
        assertTrue(waits >= STEPS, "reader-wait events " + waits);
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String key) {
        return after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0);
    }
}
