package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.testkit.s3.EmbeddedS3Server;
import io.lakestream.testkit.s3.S3TestServer;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `lakestream doctor` and the probe on stream creation: safe stores pass, unsafe ones are refused. */
class StoreProbeTest {
    @TempDir
    Path dir;

    private static void assertAllPass(List<StoreProbe.Result> results) {
        for (StoreProbe.Result r : results) {
            System.out.println("[probe] " + r.line());
            assertTrue(r.passed(), r.line());
        }
    }

    private static StoreProbe.Result race(List<StoreProbe.Result> results) {
        return results.stream().filter(r -> r.property().equals("put-if-absent has exactly one winner")).findFirst().orElseThrow();
    }

    private static void assertNoProbeObjectsLeft(ObjectStore store) {
        assertEquals(List.of(), store.list(StoreProbe.PREFIX, null, 10), "the probe removes what it wrote");
    }

    @Test
    void fileStorePassesTheFullProbeAndIsLeftClean() {
        try (ObjectStore store = ObjectStores.open(dir.toUri().toString(), true)) {
            List<StoreProbe.Result> results = new StoreProbe(store).run(StoreProbe.Plan.full());
            assertEquals(6, results.size());
            assertAllPass(results);
            assertNoProbeObjectsLeft(store);
        }
    }

    @Test
    void embeddedS3ServerWithAtomicConditionalWritesPassesTheFullProbe() {
        try (ObjectStore store = ObjectStores.open(S3TestServer.newStreamUri("probe-ok"), true)) {
            assertAllPass(new StoreProbe(store).run(StoreProbe.Plan.full()));
            assertNoProbeObjectsLeft(store);
        }
    }

    @Test
    void s3ProxyThatChecksThenWritesIsRefusedAtStreamCreation() {
        try (EmbeddedS3Server unsafe = EmbeddedS3Server.startUnsafe("filesystem-nio2")) {
            unsafe.createBucket("unsafe");
            try (ObjectStore store = ObjectStores.open(unsafe.streamUri("unsafe", "s"), true)) {
                StoreProbe.Result r = race(new StoreProbe(store).run(StoreProbe.Plan.quick()));
                System.out.println("[probe] " + r.line());
                assertFalse(r.passed(), "S3Proxy without a per-key lock lets racing conditional writes both win");

                UnsafeStoreException e = assertThrows(UnsafeStoreException.class,
                        () -> TgbProducer.open(store, "p", StreamConfig.of(2), ProducerOptions.defaults()));
                assertTrue(e.getMessage().contains("put-if-absent has exactly one winner"), e.getMessage());
                assertTrue(e.getMessage().contains("--unsafe-store"), e.getMessage());
                assertFalse(store.stat(StreamConfig.KEY).isPresent(), "no stream was created");

                // The override creates it, loudly, and the stream works.
                try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(2), ProducerOptions.defaults().withUnsafeStore(true))) {
                    assertEquals(1, p.epoch());
                }
                // Opening an existing stream does not probe again.
                assertEquals(2, ManifestLog.openOrCreate(store, StreamConfig.of(2)).config().worldSize());
            }
        }
    }

    @Test
    void legacyFilesystemBackendFailsTheProbe() {
        try (EmbeddedS3Server unsafe = EmbeddedS3Server.startUnsafe("filesystem")) {
            unsafe.createBucket("legacy");
            try (ObjectStore store = ObjectStores.open(unsafe.streamUri("legacy", "s"), true)) {
                List<StoreProbe.Result> results = new StoreProbe(store).run(StoreProbe.Plan.quick());
                results.forEach(r -> System.out.println("[probe legacy] " + r.line()));
                assertFalse(results.stream().allMatch(StoreProbe.Result::passed), "the legacy filesystem backend is not safe");
            }
        }
    }

    /** A store whose put-if-absent is a plain put: every racer "wins". Deterministic. */
    @Test
    void aStoreWhosePutIfAbsentAlwaysSucceedsFailsTheRaceWithAClearReport() {
        try (ObjectStore inner = ObjectStores.open(dir.toUri().toString(), true)) {
            ObjectStore liar = new LyingStore(inner);
            StoreProbe.Result r = race(new StoreProbe(liar).run(StoreProbe.Plan.quick()));
            assertFalse(r.passed());
            assertTrue(r.detail().contains("8 of 8 8-way races"), r.detail());
            assertTrue(r.detail().contains("were told they created"), r.detail());
            UnsafeStoreException e = assertThrows(UnsafeStoreException.class, () -> ManifestLog.openOrCreate(liar, StreamConfig.of(1)));
            assertEquals("put-if-absent has exactly one winner", e.failed().property());
        }
    }

    /** A probe that died (or whose deletes failed) leaves objects under _probe/: GC removes them once old. */
    @Test
    void gcRemovesWhatADeadProbeLeftBehindOnceItIsOld() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("left"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        String old = StoreProbe.PREFIX + "deadbeef/race-64-0";
        String fresh = StoreProbe.PREFIX + "cafebabe/race-64-0";
        fs.put(old, new byte[64]);
        fs.put(fresh, new byte[64]);
        java.nio.file.Files.setLastModifiedTime(fs.root().resolve(old),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        assertTrue(io.lakestream.log.StreamLayout.parse(old) instanceof io.lakestream.log.StreamLayout.ProbeObject);
        var report = new io.lakestream.retention.GarbageCollector(log, 3_600_000).run(false);
        assertFalse(fs.stat(old).isPresent(), "an hour-old probe leftover is reclaimed");
        assertTrue(fs.stat(fresh).isPresent(), "a probe that may still be running is left alone");
        assertTrue(report.unrecognisedKeys().isEmpty(), report.unrecognisedKeys().toString());
    }

    private record LyingStore(ObjectStore inner) implements ObjectStore {
        @Override public String describe() { return "lying " + inner.describe(); }
        @Override public byte[] get(String key) { return inner.get(key); }
        @Override public void readRange(String key, long offset, MemorySegment dst) { inner.readRange(key, offset, dst); }
        @Override public void put(String key, byte[] data) { inner.put(key, data); }
        @Override public boolean putIfAbsent(String key, byte[] data) { inner.put(key, data); return true; }
        @Override public Optional<ObjectInfo> stat(String key) { return inner.stat(key); }
        @Override public void delete(String key) { inner.delete(key); }
        @Override public List<ObjectInfo> list(String prefix, String startAfter, int limit) { return inner.list(prefix, startAfter, limit); }
        @Override public void close() { inner.close(); }
    }
}
