package io.lakestream.producer;

import io.lakestream.log.StreamLayout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.source.SyntheticSource;
import io.lakestream.testkit.FaultInjectingStore;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.RetryPolicy;
import io.lakestream.store.RetryingStore;
import io.lakestream.store.StoreException;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ExactlyOnceTest {
    static final int W = 3;
    static final int B = 2;
    static final int L = 8;

    @TempDir
    Path dir;

    /** This test's own fail points: armed here, seen only by the producers given {@link #env}. */
    final FailPoints failPoints = new FailPoints();
    final StreamEnv env = StreamEnv.defaults().withFailPoints(failPoints);

    /** The store under test, fresh per call; {@link S3ExactlyOnceTest} runs every test here on s3://. */
    ObjectStore store() {
        return FileStore.open(dir.resolve("s-" + java.util.UUID.randomUUID()), true);
    }

    @Test
    void concurrentProducerThreadsKeepStepsGapFreeAndRecordsExactlyOnce() throws Exception {
        ObjectStore fs = store();
        int producers = 4;
        long records = 400;
        Streams.concurrently(producers, part -> {
            SyntheticSource src = new SyntheticSource(records, 5, part, producers, L);
            Streams.produce(fs, "p" + part, W, B, src, -1, part % 2 == 0 ? Streams.opts() : Streams.lz4()).close();
        });
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(records));
    }

    @Test
    void zombieProducerWithAnOldEpochCannotCommit() {
        ObjectStore fs = store();
        SyntheticSource src = new SyntheticSource(60, 1, 0, 1, L);
        TgbProducer old = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts().withGroup(100, 100, false));
        long[] ids = src.take(0, W * B);
        old.append(src.globalBatch(ids, W), SyntheticSource.cursor(src.after(ids[ids.length - 1])));
        // a replacement starts while the old instance is paused (e.g. a GC pause or partition)
        TgbProducer fresh = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts());
        assertEquals(old.epoch() + 1, fresh.epoch());
        ProducerFencedException e = assertThrows(ProducerFencedException.class, old::commit);
        assertTrue(e.getMessage().contains("fenced") && e.getMessage().contains("epoch " + old.epoch()), e.getMessage());
        // the replacement resumes from the committed cursor (nothing), so the zombie's batch is not lost
        Streams.produceWith(fresh, W, B, src, -1);
        fresh.close();
        old.close();
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(60));
    }

    @Test
    void aCommitWhoseOutcomeWasNotLearnedIsNeverCommittedTwice() {
        ObjectStore fs = store();
        SyntheticSource src = new SyntheticSource(12, 1, 0, 1, L);
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts().withGroup(100, 100, false), env);
        long[] ids = src.take(0, W * B);
        String cursor = SyntheticSource.cursor(src.after(ids[ids.length - 1]));
        p.append(src.globalBatch(ids, W), cursor);
        // the commit lands but the producer fails before learning it: the fail point throws after the put
        failPoints.set(FailPoints.AFTER_COMMIT, new FailPoints.Throw(), 1);
        assertThrows(FailPoints.InjectedFailure.class, p::commit);
        // The instance refuses to go on (a caller retrying the same records would otherwise queue them again) ...
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> p.append(src.globalBatch(ids, W), cursor));
        assertTrue(refused.getMessage().contains("open a new instance"), refused.getMessage());
        assertThrows(IllegalStateException.class, p::commit);
        p.close();
        // ... and a new instance learns from the log that the batch is in: it resumes after it.
        try (TgbProducer q = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts(), env)) {
            assertEquals(1, q.committedSeq());
            assertEquals(cursor, q.committedCursor());
        }
        assertEquals(1, ManifestLog.open(fs).state().committedSteps());
    }

    /**
     * Crash at every protocol point (in-process: the fail point throws and the instance is
     * abandoned as if it died), restart, finish: exactly once.
     */
    @ParameterizedTest
    @ValueSource(strings = {FailPoints.AFTER_OBJECT_WRITE, FailPoints.BEFORE_VERSION_PUT, FailPoints.AFTER_VERSION_PUT,
            FailPoints.BEFORE_SNAPSHOT, FailPoints.AFTER_COMMIT})
    void crashAtEveryPointThenRestartKeepsExactlyOnce(String point) {
        ObjectStore fs = store();
        long records = 90;
        SyntheticSource src = new SyntheticSource(records, 3, 0, 1, L);
        for (int crashAt = 2; crashAt <= 8; crashAt += 3) {
            failPoints.set(point, new FailPoints.Throw(), crashAt);
            try {
                Streams.produce(fs, "p", W, B, src, -1, Streams.opts().withGroup(2, 2, false), env);
            } catch (FailPoints.InjectedFailure expected) {
                // the instance "died" here; the next iteration is its replacement
            }
            failPoints.clearAll();
        }
        Streams.produce(fs, "p", W, B, src, -1, Streams.opts()).close();
        Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(records));
    }

    /** 10% of store calls fail before or after taking effect (lost responses): still exactly once. */
    @Test
    void tenPercentInjectedStoreFaultsKeepExactlyOnce() throws Exception {
        ObjectStore fs = store();
        FaultInjectingStore faultyWire = new FaultInjectingStore(fs, 42).failBefore(0.05).failAfter(0.05);
        // the faults happen below the store's one retry layer, as on a real network
        ObjectStore faulty = new RetryingStore(faultyWire, RetryPolicy.defaults().withMaxAttempts(8), ManualClock.autoAdvancing(0));
        int producers = 3;
        long records = 240;
        Streams.concurrently(producers, part -> {
            SyntheticSource src = new SyntheticSource(records, 9, part, producers, L);
            // A producer hit by a fault that outlives the store's retries dies and restarts, as a
            // supervisor would restart it; any other failure fails the test.
            for (int life = 0; life < 200; life++) {
                try {
                    Streams.produce(faulty, "p" + part, W, B, src, -1, Streams.opts()).close();
                    return;
                } catch (StoreException | CommitStateUnknownException e) {
                    // restart
                }
            }
            throw new AssertionError("producer p" + part + " never finished");
        });
        assertTrue(faultyWire.injectedFaults() > 0, "faults were injected");
        long before = faultyWire.injectedFaults();
        // readers ride out the same faults (retries), and see exactly what a clean store shows
        Streams.assertExactlyOnce(Streams.readAll(faulty, W), Streams.range(records));
        assertTrue(faultyWire.injectedFaults() > before, "reads were faulted too");
    }

    @Test
    void batchWithWrongRankCountIsRejectedBeforeWriting() {
        ObjectStore fs = store();
        SyntheticSource src = new SyntheticSource(10, 1, 0, 1, L);
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.append(src.globalBatch(src.take(0, 4), 2), "next=4"));
        assertTrue(e.getMessage().contains("world size 3"), e.getMessage());
        assertTrue(fs.list(StreamLayout.DATA_PREFIX, null, 10).isEmpty(), "nothing written");
        p.close();
    }

    @Test
    void badProducerIdsAreRejected() {
        ObjectStore fs = store();
        for (String bad : new String[] {"..", "a/b", "", ".hidden", "x y"}) {
            assertThrows(IllegalArgumentException.class, () -> TgbProducer.open(fs, bad, StreamConfig.of(1), Streams.opts()), bad);
        }
    }
}
