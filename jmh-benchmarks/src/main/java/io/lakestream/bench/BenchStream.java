package io.lakestream.bench;

import io.lakestream.format.Codec;
import io.lakestream.format.TensorData;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.TgbEntry;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A temporary file:// stream for the benchmarks: world size 2, {@code steps} committed global
 * batches whose rank shards hold about {@code shardBytes} of token data (I32 [n, 2048] from
 * {@link SyntheticSource}, as a tokenizer would produce, plus I64 record ids).
 */
final class BenchStream implements AutoCloseable {
    static final int WORLD = 2;
    static final int SEQ = 2048;

    final Path dir;
    final FileStore store;
    final List<TgbEntry> entries;

    private BenchStream(Path dir, FileStore store, List<TgbEntry> entries) {
        this.dir = dir;
        this.store = store;
        this.entries = entries;
    }

    static BenchStream create(int shardBytes, Codec codec, int steps) {
        try {
            Path dir = Files.createTempDirectory("lakestream-bench-");
            FileStore store = FileStore.open(dir, true);
            try (TgbProducer p = TgbProducer.open(store, "bench", StreamConfig.of(WORLD),
                    ProducerOptions.defaults().withCodec(codec).withGroup(steps, steps, false))) {
                long record = 0;
                for (int s = 0; s < steps; s++) {
                    List<Map<String, TensorData>> shards = new ArrayList<>(WORLD);
                    for (int r = 0; r < WORLD; r++) {
                        shards.add(shard(shardBytes, record));
                        record += samples(shardBytes);
                    }
                    p.append(shards, SyntheticSource.cursor(record));
                }
                p.commit();
            }
            ManifestLog log = ManifestLog.open(store, WORLD, true);
            List<TgbEntry> entries = new ArrayList<>(steps);
            for (int s = 0; s < steps; s++) {
                entries.add(log.entry(s));
            }
            return new BenchStream(dir, store, List.copyOf(entries));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int samples(int shardBytes) {
        return Math.max(1, shardBytes / (SEQ * 4 + 8));
    }

    /** One rank shard of about {@code shardBytes}: tokens I32 [n, SEQ] and record_id I64 [n]. */
    static Map<String, TensorData> shard(int shardBytes, long firstRecord) {
        int n = samples(shardBytes);
        int[] tokens = new int[n * SEQ];
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = firstRecord + i;
            for (int j = 0; j < SEQ; j++) {
                tokens[i * SEQ + j] = SyntheticSource.token(7, ids[i], j);
            }
        }
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("tokens", TensorData.ofInts(tokens, n, SEQ));
        m.put("record_id", TensorData.ofLongs(ids, n));
        return m;
    }

    @Override
    public void close() {
        store.close();
        deleteTree(dir);
    }

    /** Removes a benchmark's scratch directory and everything in it. */
    static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
