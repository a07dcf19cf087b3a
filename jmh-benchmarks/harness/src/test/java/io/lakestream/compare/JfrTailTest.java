package io.lakestream.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.format.TensorData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stage split of --jfr against the real producer and readers: the library's own events
 * (BatchWrite, Commit, FollowerNews, ShardFetch) are recorded in this process, and every step's
 * window must split into stages that add up to the window exactly, with the write and the fetch
 * seen (a missing or renamed event would leave steps unsplit).
 */
class JfrTailTest {
    @TempDir
    Path dir;

    @Test
    void everyStepSplitsIntoStagesThatAddUpToItsWindow() throws Exception {
        int world = 2;
        int steps = 12;
        String uri = dir.resolve("stream").toUri().toString();
        Path jfr = dir.resolve("rec.jfr");
        List<JfrTail.Window> windows = new ArrayList<>();
        try (Recording rec = new Recording()) {
            for (String e : List.of("io.lakestream.BatchWrite", "io.lakestream.Commit", "io.lakestream.FollowerNews", "io.lakestream.ShardFetch")) {
                rec.enable(e).withThreshold(java.time.Duration.ZERO);
            }
            rec.start();
            try (ObjectStore ps = ObjectStores.open(uri, true);
                 TgbProducer p = TgbProducer.open(ps, "p0", StreamConfig.of(world), ProducerOptions.defaults().withGroup(1, 1, false));
                 ObjectStore rs = ObjectStores.open(uri, false)) {
                List<RankReader> readers = new ArrayList<>();
                try {
                    p.append(batch(world, -1), "next=0"); // step 0 makes the stream exist for the readers
                    p.commit();
                    for (int r = 0; r < world; r++) {
                        readers.add(RankReader.open(rs, r, world, 1, ReaderOptions.defaults()));
                    }
                    for (int s = 1; s <= steps; s++) {
                        long from = wallNanos();
                        p.append(batch(world, s), "next=" + s);
                        p.commit();
                        for (RankReader r : readers) {
                            try (StepBatch b = r.next(30_000)) {
                                assertEquals(s, b.step());
                            }
                        }
                        windows.add(new JfrTail.Window(s, from, wallNanos()));
                    }
                } finally {
                    readers.forEach(RankReader::close);
                }
            }
            rec.stop();
            rec.dump(jfr);
        }
        assertTrue(Files.size(jfr) > 0);
        List<double[]> rows = JfrTail.split(List.of(jfr), windows);
        assertEquals(steps, rows.size(), "every step's events were found");
        for (int i = 0; i < rows.size(); i++) {
            double[] row = rows.get(i);
            double sum = 0;
            for (double v : row) {
                sum += v;
            }
            JfrTail.Window w = windows.get(i);
            assertEquals((w.toNanos() - w.fromNanos()) / 1e6, sum, 1e-6, "stages of step " + w.step() + " add up to its window");
            assertTrue(row[1] > 0, "the object write of step " + w.step() + " took time");
            assertTrue(row[3] > 0, "the commit of step " + w.step() + " took time");
            assertTrue(row[6] >= 0, "the fetch of step " + w.step() + " ends after it starts");
        }
        Map<String, Object> summary = JfrTail.stages(List.of(new JfrTail.Repeat(List.of(jfr), windows.subList(0, 2), windows)));
        assertNotNull(summary);
        assertEquals(steps, summary.get("steps"));
        assertEquals(2, summary.get("slow_steps"));
        assertEquals(JfrTail.STAGES.size(), ((List<?>) summary.get("stages")).size());
    }

    private static List<Map<String, TensorData>> batch(int world, int step) {
        List<Map<String, TensorData>> shards = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            shards.add(Map.of("tokens", TensorData.ofInts(new int[] {step, r, 1, 2}, 2, 2)));
        }
        return shards;
    }

    private static long wallNanos() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }
}
