package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorData;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.Checkpoints;
import io.lakestream.retention.GarbageCollector;
import io.lakestream.retention.GcReport;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests for the holes an adversarial review found (../shared/reproducers/protocol):
 * each drives the exact interleaving the reproducer did and asserts the right outcome.
 */
class ProtocolHardeningTest {
    @TempDir
    Path dir;

    static final SyntheticSource SRC = new SyntheticSource(100_000, 1, 0, 1, 4);
    /** A short log grace, so log GC acts within a test; GC runs with a clock an hour ahead (see gcEnv). */
    static final long GRACE = 1_000;

    static List<Map<String, TensorData>> batch(long start) {
        return SRC.globalBatch(SRC.take(start, 2), 1);
    }

    /** A GC process whose clock runs an hour ahead: every log file looks older than the grace to it. */
    static StreamEnv gcEnv() {
        return StreamEnv.defaults().withClock(new ManualClock(System.currentTimeMillis() + 3_600_000));
    }

    static GcReport gcNow(ObjectStore store) {
        return new GarbageCollector(ManifestLog.open(store, gcEnv()), 3_600_000).run(false);
    }

    /**
     * Group 1, inline: every append commits on the test's thread before it returns, as the hooks
     * and fail points of these tests need (the protocol is the same with a committer thread).
     */
    static final ProducerOptions ONE_INLINE = ProducerOptions.defaults().withGroup(1, 1, false).withWriteParallelism(0);

    static boolean isTombstone(ObjectStore store, long v) {
        return VersionTombstone.is(store.get(ManifestLog.versionKey(v)));
    }

    static void commitState(ManifestLog w, long i) {
        w.commit("w", s -> new Changes(Map.of("w", new ProducerState(1, i, "c" + i)), List.of(), List.of()));
    }

    /** Hole 1: a lost confirmation, a stall longer than the log grace and log GC never re-create a version. */
    @Test
    void anAmbiguousCommitThatStallsPastLogGcNeverRecreatesTheReclaimedVersion() {
        FileStore fs = FileStore.open(dir.resolve("a"), true);
        HookStore hs = new HookStore(fs);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(GRACE);
        ProducerOptions one = ONE_INLINE;
        TgbProducer c = TgbProducer.open(hs, "c", cfg, one); // v0
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one); // v1
        String key = ManifestLog.versionKey(2);
        AtomicBoolean failedOnce = new AtomicBoolean();
        AtomicBoolean stalled = new AtomicBoolean();
        hs.putIfAbsentHook = k -> k.equals(key) && failedOnce.compareAndSet(false, true);
        hs.getHook = k -> {
            if (k.equals(key) && failedOnce.get() && stalled.compareAndSet(false, true)) {
                // c's read-back of version 2 stalls while b commits versions 2..21 and GC reclaims version 2
                for (int i = 0; i < 20; i++) {
                    b.append(batch(1000 + 2L * i), "b" + i);
                }
                gcNow(fs);
                assertTrue(isTombstone(fs, 2), "GC reclaimed version 2 (written by b)");
            }
        };
        c.append(batch(0), "next=2"); // group 1: commits now; the first put of v2 fails ambiguously
        assertTrue(stalled.get());
        assertTrue(isTombstone(fs, 2), "version 2 is still the tombstone: the stalled committer did not write it again");
        ManifestLog fresh = ManifestLog.open(fs);
        assertEquals(1, fresh.state().producer("c").seq(), "c's batch is in the log's history");
        assertEquals(c.committedSeq(), fresh.state().producer("c").seq(), "and c reports exactly that");
        long stepsOfC = 0;
        for (long s = 0; s < fresh.state().committedSteps(); s++) {
            stepsOfC += fresh.entry(s).producer().equals("c") ? 1 : 0;
        }
        assertEquals(1, stepsOfC, "exactly once");
        c.append(batch(2), "next=4"); // and c goes on
        assertEquals(2, ManifestLog.open(fs).state().producer("c").seq());
        c.close();
        b.close();
    }

    /** Hole 2: a writer whose clock runs an hour fast cannot make a committer re-create a reclaimed version. */
    @Test
    void aWriterClockAheadCannotMakeReadersDisagreeOnAStep() {
        FileStore fs = FileStore.open(dir.resolve("g"), true);
        StreamConfig cfg = StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(GRACE);
        ProducerOptions one = ONE_INLINE;
        TgbProducer c = TgbProducer.open(fs, "c", cfg, one); // v0
        VersionFile skewed = new VersionFile(1, "tok", "s", System.currentTimeMillis() + 3_600_000, 0,
                new TreeMap<>(Map.of("s", new ProducerState(1, 0, null))), List.of(), List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(1), Json.write(skewed)));
        c.log().refresh(); // c is at v1
        ManifestLog r = ManifestLog.open(fs, true); // a reader at v1
        TgbProducer b = TgbProducer.open(fs, "b", cfg, one); // v2
        for (int i = 0; i < 20; i++) {
            b.append(batch(1000 + 2L * i), "b" + i); // v3..v22
        }
        gcNow(fs);
        assertTrue(isTombstone(fs, 2));
        c.append(batch(0), "next=2"); // c's state is at v1: its put of v2 finds the tombstone and it re-reads the log
        assertTrue(isTombstone(fs, 2), "version 2 was not re-created");
        r.refresh();
        ManifestLog fresh = ManifestLog.open(fs, true);
        assertEquals(fresh.state().version(), r.state().version());
        for (long s = r.state().tailFirstStep(); s < fresh.state().committedSteps(); s++) {
            assertEquals(fresh.entry(s).object(), r.entry(s).object(), "step " + s + " is the same batch for both readers");
        }
        assertEquals(1, fresh.state().producer("c").seq());
        c.close();
        b.close();
    }

    /** Hole 3: log GC between two pages of a follower's listing is not a "gap". */
    @Test
    void logGcBetweenTwoListPagesDoesNotFailAFollower() {
        FileStore fs = FileStore.open(dir.resolve("b"), true);
        HookStore hs = new HookStore(fs);
        ManifestLog w = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(8).withLogGraceMs(GRACE));
        for (int i = 0; i < 4; i++) {
            commitState(w, i);
        }
        ManifestLog reader = ManifestLog.open(hs, true); // parked at version 3
        for (int i = 4; i <= 2400; i++) {
            commitState(w, i);
        }
        gcNow(fs);
        AtomicInteger pages = new AtomicInteger();
        hs.listHook = (prefix, after, limit) -> {
            if (limit == 1000 && "_log/".equals(prefix) && pages.incrementAndGet() == 2) {
                for (int i = 2401; i <= 2420; i++) {
                    commitState(w, i);
                }
                gcNow(fs); // between page 1 and page 2
            }
        };
        ManifestState s = reader.refresh();
        assertEquals(w.state().version(), s.version(), "the parked reader caught up to the head");
        assertEquals("c2420", s.producer("w").cursor());
    }

    /** Hole 3, for streams whose versions were deleted (GC of earlier builds, or a batch delete in any order). */
    @Test
    void versionsDeletedInAnyOrderBelowTheNewestSnapshotAreNotAGap() {
        FileStore fs = FileStore.open(dir.resolve("b2"), true);
        ManifestLog w = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(8).withLogGraceMs(GRACE));
        for (int i = 0; i < 40; i++) {
            commitState(w, i);
        }
        for (long v : new long[] {3, 17, 9, 30, 0}) {
            fs.delete(ManifestLog.versionKey(v)); // holes below snapshot 32
        }
        assertEquals("c39", ManifestLog.open(fs).state().producer("w").cursor());
        fs.delete(ManifestLog.versionKey(35)); // a hole above every snapshot is real
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(e.getMessage().contains("version 35 is missing"), e.getMessage());
    }

    /** Hole 4: an append that throws after its batch was queued leaves no way to commit the records twice. */
    @Test
    void afterAFailedCommitTheInstanceRefusesMoreAndARestartResumesExactlyOnce() {
        FileStore fs = FileStore.open(dir.resolve("h"), true);
        FailPoints fp = new FailPoints();
        StreamEnv env = StreamEnv.defaults().withFailPoints(fp);
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(1), ONE_INLINE, env);
        fp.set(FailPoints.BEFORE_VERSION_PUT, new FailPoints.Throw(), 1);
        assertThrows(FailPoints.InjectedFailure.class, () -> p.append(batch(0), "next=2"));
        IllegalStateException again = assertThrows(IllegalStateException.class, () -> p.append(batch(0), "next=2"));
        assertTrue(again.getMessage().contains("failed earlier") && again.getMessage().contains("open a new instance"),
                again.getMessage());
        assertThrows(IllegalStateException.class, p::commit);
        p.close();
        try (TgbProducer q = TgbProducer.open(fs, "p", StreamConfig.of(1), ONE_INLINE)) {
            long next = q.committedCursor() == null ? 0 : SyntheticSource.parseCursor(q.committedCursor());
            assertEquals(0, next, "nothing was committed: the restart resumes at the start");
            q.append(batch(next), "next=2");
        }
        ManifestLog log = ManifestLog.open(fs, true);
        assertEquals(1, log.state().committedSteps(), "the records were committed once");
    }

    /** Hole 5: flow control holds for several producers together, not just for each one's own view. */
    @Test
    void twoProducersTogetherNeverRunPastMaxLagSteps() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("c"), true);
        StreamConfig cfg = StreamConfig.of(1).withRetention(2, 4);
        ManifestLog.openOrCreate(fs, cfg);
        ProducerOptions g4 = ProducerOptions.defaults().withGroup(4, 4, false);
        TgbProducer p1 = TgbProducer.open(fs, "p1", cfg, g4);
        TgbProducer p2 = TgbProducer.open(fs, "p2", cfg, g4);
        for (int i = 0; i < 4; i++) {
            p1.append(batch(2L * i), "n" + i); // the 4th append fills p1's group of 4: lag 4 = the bound
        }
        p1.commit(); // the group is committed in the background: wait for it before p2 starts
        assertEquals(4, ManifestLog.open(fs).state().committedSteps());
        AtomicReference<Throwable> p2Failed = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 4; i++) {
                    p2.append(batch(100 + 2L * i), "n" + i);
                }
                p2.commit();
            } catch (Throwable e) {
                p2Failed.set(e);
            }
        });
        t.join(1_500);
        assertTrue(t.isAlive(), "p2 waits: the stream is at the bound");
        assertEquals(4, ManifestLog.open(fs).state().committedSteps(), "p2 committed nothing past the bound");
        Checkpoints.record(fs, 4, "ckpt-4"); // the trainer catches up
        t.join(30_000);
        assertFalse(t.isAlive());
        assertEquals(null, p2Failed.get());
        ManifestLog log = ManifestLog.open(fs);
        assertEquals(8, log.state().committedSteps());
        // No version ever had more than 4 steps beyond the newest checkpoint.
        ManifestState s = ManifestState.empty(log.config());
        for (long v = 0; v <= log.state().version(); v++) {
            s = s.apply(Json.read(fs.get(ManifestLog.versionKey(v)), VersionFile.class, "v" + v), "v" + v);
            assertTrue(s.lagSteps() <= 4, "version " + v + " has lag " + s.lagSteps());
        }
        p1.close();
        p2.close();
    }

    /** Hole 6: an entry naming another key is refused, and GC never deletes what an entry merely names. */
    @Test
    void anEntryNamingTheStreamConfigIsRefusedAndGcNeverDeletesIt() {
        FileStore fs = FileStore.open(dir.resolve("d"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        TgbEntry evil = new TgbEntry("x", 1, 1, null, "_lakestream.json", 10, "none", List.of(new ShardEntry(0, 10, 0, 10, 1, 0)));
        LogFormatException refused = assertThrows(LogFormatException.class,
                () -> log.commit("x", s -> new Changes(Map.of("x", new ProducerState(1, 1, null)), List.of(evil), List.of())));
        assertTrue(refused.getMessage().contains("'_lakestream.json', not this batch's object key"), refused.getMessage());
        assertFalse(fs.stat(ManifestLog.versionKey(0)).isPresent(), "nothing was written");
        // Written behind the log's back (a hostile or broken writer): readers refuse it, naming it, and GC deletes nothing.
        VersionFile v0 = new VersionFile(0, "t", "x", 0, 0, new TreeMap<>(Map.of("x", new ProducerState(1, 1, null))), List.of(evil),
                List.of(), null);
        assertTrue(fs.putIfAbsent(ManifestLog.versionKey(0), Json.write(v0)));
        LogFormatException bad = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs));
        assertTrue(bad.getMessage().contains("_log/00000000000000000000.json"), bad.getMessage());
        assertThrows(LogFormatException.class, () -> gcNow(fs));
        assertTrue(fs.stat(StreamConfig.KEY).isPresent(), "the stream config is still there");
    }

    /** Hole 7: a stray key whose number does not fit a long breaks neither opening nor GC, and is kept. */
    @Test
    void strayOversizedNumericKeysAreReportedNotFatal() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("e"), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(1));
        commitState(log, 1);
        String strayLog = "_log/99999999999999999999.json";
        String strayData = "data/w/99999999999999999999-000000000001.tgb";
        fs.put(strayLog, "{}".getBytes(StandardCharsets.UTF_8));
        fs.put(strayData, new byte[1]);
        java.nio.file.Files.setLastModifiedTime(fs.root().resolve(strayData),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        assertEquals("c1", ManifestLog.open(fs).state().producer("w").cursor());
        GcReport r = gcNow(fs);
        assertTrue(r.unrecognisedKeys().stream().anyMatch(k -> k.startsWith(strayLog)), r.unrecognisedKeys().toString());
        assertTrue(r.unrecognisedKeys().stream().anyMatch(k -> k.startsWith(strayData)), r.unrecognisedKeys().toString());
        assertTrue(fs.stat(strayLog).isPresent() && fs.stat(strayData).isPresent(), "keys GC cannot parse are never deleted");
    }

    /** What log GC leaves behind: a tombstone per reclaimed version, which a follower that fell behind reloads past. */
    @Test
    void aFollowerBehindLogGcFindsTombstonesAndReloadsFromASnapshot() {
        FileStore fs = FileStore.open(dir.resolve("t"), true);
        ManifestLog w = ManifestLog.openOrCreate(fs, StreamConfig.of(1).withSnapshotInterval(4).withLogGraceMs(GRACE));
        commitState(w, 0);
        ManifestLog behind = ManifestLog.open(fs, true);
        for (int i = 1; i <= 30; i++) {
            commitState(w, i);
        }
        GcReport r = gcNow(fs);
        assertTrue(r.logFiles() > 0, r.toJson());
        assertTrue(isTombstone(fs, 1));
        assertArrayEquals(VersionTombstone.bytes(1), fs.get(ManifestLog.versionKey(1)));
        assertEquals("c30", behind.refresh().producer("w").cursor());
        List<Long> tombstones = new ArrayList<>();
        for (long v = 0; v <= w.state().version(); v++) {
            if (isTombstone(fs, v)) {
                tombstones.add(v);
            }
        }
        assertEquals(0L, tombstones.get(0));
        gcNow(fs);
        assertTrue(tombstones.stream().allMatch(v -> isTombstone(fs, v)), "a tombstone is never deleted (its key stays taken)");
    }
}
