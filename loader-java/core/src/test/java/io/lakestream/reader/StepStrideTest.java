package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorData;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.TgbEntry;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers with a step stride (DataLoader workers): reader k of n delivers only its own steps and
 * never reads the others' bytes from the store, so n readers together read each step once.
 */
class StepStrideTest {
    private static final int WORLD = 2;
    private static final int STEPS = 13;
    private static final int SAMPLES = 4;

    @TempDir
    Path dir;

    @Test
    void eachStridedReaderFetchesOnlyItsOwnStepsAndTogetherTheyReadEachStepOnce() throws Exception {
        FileStore files = FileStore.open(dir, true);
        write(files);
        ManifestLog log = ManifestLog.open(files, WORLD, true);
        int rank = 1;
        int first = 2;
        int n = 3;
        Set<Long> delivered = new HashSet<>();
        long totalRead = 0;
        long totalShardBytes = 0;
        for (int k = 0; k < n; k++) {
            RecordingStore store = new RecordingStore(files);
            List<Long> mine = new ArrayList<>();
            long read;
            try (RankReader r = RankReader.open(store, rank, WORLD, first + k, ReaderOptions.defaults().withStepStride(n))) {
                for (long s = first + k; s < STEPS; s += n) {
                    try (StepBatch b = r.next(10_000)) {
                        assertEquals(s, b.step());
                        assertEquals(s + n, r.nextStep(), "the next step of a strided reader is its own next one");
                        long[] want = new long[SAMPLES];
                        for (int i = 0; i < SAMPLES; i++) {
                            want[i] = recordId(s, rank, i);
                        }
                        assertArrayEquals(want, b.tensor("record_id").toLongArray());
                        mine.add(s);
                    }
                }
                // Nothing else is delivered: the next own step is beyond the stream.
                assertThrows(ReaderTimeoutException.class, () -> r.next(50));
                read = r.bytesRead();
            }
            // The store saw ranged reads of exactly this reader's shards, once each.
            List<String> want = new ArrayList<>();
            long shardBytes = 0;
            for (long s : mine) {
                TgbEntry e = log.entry(s);
                want.add(e.object() + "@" + e.shards().get(rank).offset() + "+" + e.shards().get(rank).length());
                shardBytes += e.shards().get(rank).length();
            }
            want.sort(null);
            assertEquals(want, store.ranges(), "worker " + k + " read other workers' steps");
            assertEquals(shardBytes, read);
            for (long s : mine) {
                assertTrue(delivered.add(s), "step " + s + " delivered twice");
            }
            totalRead += read;
            totalShardBytes += shardBytes;
        }
        Set<Long> all = new HashSet<>();
        for (long s = first; s < STEPS; s++) {
            all.add(s);
        }
        assertEquals(all, delivered);
        assertEquals(totalShardBytes, totalRead, "together the readers read each shard exactly once");
    }

    @Test
    void strideBelowOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReaderOptions.defaults().withStepStride(0));
        assertTrue(e.getMessage().contains("stride"), e.getMessage());
        assertEquals(1, new ReaderOptions(4, 1 << 20, 2, 100).stepStride());
    }

    private static long recordId(long step, int rank, int i) {
        return (step * WORLD + rank) * SAMPLES + i;
    }

    private static void write(FileStore store) {
        try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(WORLD), ProducerOptions.defaults())) {
            for (int step = 0; step < STEPS; step++) {
                List<Map<String, TensorData>> shards = new ArrayList<>();
                for (int r = 0; r < WORLD; r++) {
                    long[] ids = new long[SAMPLES];
                    for (int i = 0; i < SAMPLES; i++) {
                        ids[i] = recordId(step, r, i);
                    }
                    Map<String, TensorData> shard = new LinkedHashMap<>();
                    shard.put("record_id", TensorData.ofLongs(ids, SAMPLES));
                    shards.add(shard);
                }
                p.append(shards, "next=" + (step + 1));
            }
            p.commit();
        }
    }

    /** Records every ranged read (key@offset+length) and passes everything through. */
    private static final class RecordingStore implements ObjectStore {
        private final ObjectStore inner;
        private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());

        RecordingStore(ObjectStore inner) {
            this.inner = inner;
        }

        List<String> ranges() {
            synchronized (ranges) {
                List<String> sorted = new ArrayList<>(ranges);
                sorted.sort(null);
                return sorted;
            }
        }

        @Override
        public String describe() {
            return inner.describe();
        }

        @Override
        public byte[] get(String key) {
            return inner.get(key);
        }

        @Override
        public void readRange(String key, long offset, MemorySegment dst) {
            ranges.add(key + "@" + offset + "+" + dst.byteSize());
            inner.readRange(key, offset, dst);
        }

        @Override
        public void put(String key, byte[] data) {
            inner.put(key, data);
        }

        @Override
        public boolean putIfAbsent(String key, byte[] data) {
            return inner.putIfAbsent(key, data);
        }

        @Override
        public Optional<ObjectInfo> stat(String key) {
            return inner.stat(key);
        }

        @Override
        public void delete(String key) {
            inner.delete(key);
        }

        @Override
        public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
            return inner.list(prefix, startAfter, limit);
        }

        @Override
        public void close() {}
    }
}
