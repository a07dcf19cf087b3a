package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Json;
import io.lakestream.format.ObjectSizeMismatchException;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorData;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.VersionFile;
import io.lakestream.memory.PinnedPool;
import io.lakestream.memory.Pinners;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every length a reader takes from the manifest is bounded by the real batch object before any
 * memory is sized from it (docs/format.md §4, "Lengths and the real object"): a corrupt
 * {@code object_size} is a typed error naming stream, step, rank and key, never an allocation of
 * the manifest's number.
 */
class ObjectBoundsTest {
    @TempDir
    Path dir;

    private static final SyntheticSource SRC = new SyntheticSource(100_000, 1, 0, 1, 4);

    /**
     * A stream whose step 0 is real and whose step 1 is a copy of step 0's object under seq 2's key,
     * committed with {@code objectSize} and one shard {@code [0, shardLength)} (raw length
     * {@code rawLength}, codec {@code codec}).
     */
    private FileStore stream(String name, long objectSize, long shardLength, long rawLength, String codec) {
        FileStore fs = FileStore.open(dir.resolve(name), true);
        StreamConfig cfg = StreamConfig.of(1);
        try (TgbProducer x = TgbProducer.open(fs, "x", cfg, ProducerOptions.defaults().withGroup(1, 1, false).withWriteParallelism(0))) {
            List<Map<String, TensorData>> b = SRC.globalBatch(SRC.take(0, 2), 1);
            x.append(b, "next=2");
        }
        TgbEntry real = ManifestLog.open(fs).entry(0);
        TgbEntry corrupt = new TgbEntry("x", real.epoch(), 2, "next=4", StreamLayout.batchObjectKey(cfg, "x", real.epoch(), 2), objectSize,
                codec, List.of(new ShardEntry(0, shardLength, 7, rawLength, 2, 0)));
        assertTrue(fs.putIfAbsent(corrupt.object(), fs.get(real.object())));
        VersionFile v2 = new VersionFile(2, "tok2", "x", 0, 1, new TreeMap<>(Map.of("x", new ProducerState(real.epoch(), 2, "next=4"))),
                List.of(corrupt), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(2), Json.write(v2)));
        return fs;
    }

    private static ObjectSizeMismatchException readStep1Fails(FileStore fs, PinnedPool pool) {
        try (RankReader r = RankReader.open(fs, 0, 1, 1, ReaderOptions.defaults(), pool)) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> r.next(20_000).close());
            return assertInstanceOf(ObjectSizeMismatchException.class, e, "a typed error: " + e);
        }
    }

    @Test
    void aFewGibibytesOfBogusLengthAreNeverAllocated() {
        long gib3 = 3L << 30;
        FileStore fs = stream("3g", gib3, gib3, gib3, "none");
        long real = fs.stat(ManifestLog.open(fs).entry(1).object()).orElseThrow().size();
        try (PinnedPool pool = new PinnedPool(1 << 20, 8, Pinners.defaultPinner())) {
            ObjectSizeMismatchException e = readStep1Fails(fs, pool);
            assertTrue(e.getMessage().contains("step 1") && e.getMessage().contains("rank 0")
                    && e.getMessage().contains("data/x/00000001-000000000002.tgb") && e.getMessage().contains("object_size " + gib3), e.getMessage());
            assertEquals(1, e.step());
            assertEquals(gib3, e.manifestSize());
            assertEquals(real, e.realSize());
            assertEquals(0, pool.totalLeases(), "no slab was lent for the bogus length");
        }
    }

    @Test
    void anLz4RawLengthFromABogusObjectSizeIsBoundedToo() {
        long big = 1L << 40;
        FileStore fs = stream("lz4", big, big, big * 200, "lz4");
        try (PinnedPool pool = new PinnedPool(1 << 20, 8, Pinners.defaultPinner())) {
            readStep1Fails(fs, pool);
            assertEquals(0, pool.totalLeases());
        }
    }

    @Test
    void aSmallWrongObjectSizeIsCaughtByTheShortRead() {
        // 4 KiB claimed for an object of a few hundred bytes: small enough to read without a HEAD
        FileStore fs = stream("small", 4096, 4096, 4096, "none");
        ObjectSizeMismatchException e = readStep1Fails(fs, null);
        assertEquals(4096, e.manifestSize());
    }

    @Test
    void toolsReadingOneBlobAreBoundedToo() {
        FileStore fs = stream("blob", 1L << 49, 1L << 49, 1L << 49, "none");
        TgbEntry e = ManifestLog.open(fs).entry(1);
        try (Arena a = Arena.ofConfined()) {
            assertThrows(ObjectSizeMismatchException.class, () -> ShardReads.readBlob(fs, e, 0, a, "blame"));
        }
    }

    @Test
    void anElasticReaderIsBoundedToo() {
        FileStore fs = stream("elastic", 1L << 49, 1L << 49, 1L << 49, "none");
        try (RankReader r = RankReader.openElastic(fs, 0, 2, 1, ReaderOptions.defaults())) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> r.next(20_000).close());
            assertInstanceOf(ObjectSizeMismatchException.class, e, "a typed error: " + e);
        }
    }
}
