package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorData;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TgbProducer#tryAppend} and {@link TgbProducer#awaitCommitted}, the bounded waits the
 * Python binding slices its waits into (so Ctrl-C acts while flow control holds a producer): a
 * wait that runs out appends nothing and leaves the producer usable, and slicing does not make
 * the producer poll the log more often than one long wait would.
 */
class BoundedWaitTest {
    static final SyntheticSource SRC = new SyntheticSource(100_000, 1, 0, 1, 8);

    @TempDir
    Path dir;

    private static List<Map<String, TensorData>> batch(int i) {
        return SRC.globalBatch(SRC.take(2L * i, 2), 1);
    }

    /**
     * The appending thread's own poll (an inline producer, as the simulation runs them) while the
     * trainer's pace is unknown: on a clock whose sleeps move it, a 64 s wait in 1 s slices looks
     * at the log 33 times (a quarter of the wait so far apart, from 100 ms up to 10 s), not 640.
     */
    @Test
    void anInlineProducerHeldWhileThePaceIsUnknownLooksLessOftenTheLongerItWaits() {
        FileStore fs = FileStore.open(dir.resolve("inline"), true);
        io.lakestream.testkit.ManualClock clock = io.lakestream.testkit.ManualClock.autoAdvancing(1_000_000);
        io.lakestream.StreamEnv env = io.lakestream.StreamEnv.defaults().withClock(clock);
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(1).withRetention(2, 2),
                ProducerOptions.defaults().withWriteParallelism(0), env)) {
            assertEquals(1, p.tryAppend(batch(0), "next=2", 0));
            assertEquals(2, p.tryAppend(batch(1), "next=4", 0));
            p.commit();
            long t0 = clock.monotonicNanos();
            while (clock.monotonicNanos() - t0 < 64_000_000_000L) {
                assertEquals(-1, p.tryAppend(batch(2), "next=6", 1_000));
            }
            assertTrue(p.flowWaits() <= 34, p.flowWaits() + " looks at the log in 64 s (a flat 100 ms: 640)");
            Checkpoints.record(fs, 2, null, env);
            long checkpointAt = clock.monotonicNanos();
            assertEquals(3, p.tryAppend(batch(2), "next=6", 16_000), "seen within a quarter of a 64 s checkpoint interval");
            assertTrue(clock.monotonicNanos() - checkpointAt <= 16_000_000_000L);
            assertNull(p.waitingReason());
        }
        fs.close();
    }

    @Test
    void aBoundedAppendHeldByFlowControlAppendsNothingAndTheProducerGoesOn() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(1).withRetention(2, 2), ProducerOptions.defaults())) {
            assertEquals(1, p.tryAppend(batch(0), "next=2", 5_000));
            assertEquals(2, p.tryAppend(batch(1), "next=4", 5_000));
            assertTrue(p.awaitCommitted(5_000));
            assertEquals(2, p.lastCommitResult().state().committedSteps());
            // No checkpoint: lag 2 of bound 2. Each bounded call runs out, appends nothing, says why.
            long t0 = System.nanoTime();
            int calls = 0;
            while (System.nanoTime() - t0 < 700_000_000L) {
                assertEquals(-1, p.tryAppend(batch(2), "next=6", 10));
                calls++;
            }
            double waitedMs = (System.nanoTime() - t0) / 1e6;
            assertEquals(0, p.pendingCount());
            assertEquals(2, p.committedSeq());
            assertTrue(p.waitingReason().startsWith("flow control: 2 committed steps beyond the latest checkpoint (none), bound is 2"),
                    p.waitingReason());
            // Polls at 0, 20, 60, 140, 240, 340 ms, ... (20 ms doubling up to 100 ms while the
            // trainer's pace is unknown, for the first 400 ms of a wait) as in one long wait: not once per call.
            long polls = p.flowWaits();
            long bound = 2;
            for (double t = 0, backoff = 20; t <= waitedMs; t += backoff, backoff = Math.min(100, 2 * backoff)) {
                bound++;
            }
            assertTrue(calls > 20 && polls <= bound, calls + " calls in " + waitedMs + " ms polled the log " + polls
                    + " times (at most " + bound + ")");

            // A checkpoint makes room: the same batch goes in as seq 3, the instance never failed.
            Checkpoints.record(fs, 2, null);
            assertEquals(3, p.tryAppend(batch(2), "next=6", 5_000));
            assertTrue(p.awaitCommitted(5_000));
            assertNull(p.waitingReason());
            assertEquals(3, ManifestLog.open(fs).state().committedSteps());
            assertTrue(p.awaitCommitted(0), "nothing queued: nothing to wait for");
        }
    }
}
