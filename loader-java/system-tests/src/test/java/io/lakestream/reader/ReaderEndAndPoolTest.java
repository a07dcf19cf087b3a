package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.StreamEnd;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** What a reader says at the end of a closed stream, and when its consumer holds every pool slab. */
class ReaderEndAndPoolTest {
    static final int W = 2;
    static final int B = 3;
    /** Long enough that a reader which waited for it instead of reporting the end would stall the suite visibly. */
    static final long PATIENT_MS = 120_000;

    @TempDir
    Path dir;

    private ObjectStore produced(long records) {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", W, B, new SyntheticSource(records, 3, 0, 1, 8), -1, Streams.opts()).close();
        return fs;
    }

    @Test
    void theEndOfAClosedStreamIsReportedAtOnceAndAgain() {
        ObjectStore fs = produced(18); // 3 steps
        StreamEnd.close(fs);
        try (RankReader r = RankReader.open(fs, 1, W, 1, ReaderOptions.defaults())) {
            r.next(PATIENT_MS).close();
            r.next(PATIENT_MS).close();
            assertTrue(r.atEnd());
            EndOfStreamException e = assertThrows(EndOfStreamException.class, () -> r.next(PATIENT_MS));
            assertEquals(3, e.endStep());
            assertTrue(e.getMessage().contains("ended at step 3"), e.getMessage());
            assertThrows(EndOfStreamException.class, () -> r.next(PATIENT_MS), "the end is reported again, never skipped");
            assertEquals(3, r.nextStep());
        }
        try (RankReader r = RankReader.open(fs, 0, W, 7, ReaderOptions.defaults())) {
            EndOfStreamException e = assertThrows(EndOfStreamException.class, () -> r.next(PATIENT_MS));
            assertTrue(e.getMessage().contains("step 7 lies beyond its end"), e.getMessage());
        }
    }

    @Test
    void aReaderWaitingAtTheHeadLearnsOfTheCloseWhileItWaits() throws Exception {
        ObjectStore fs = produced(6); // 1 step
        try (RankReader r = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults())) {
            r.next(PATIENT_MS).close();
            ReaderTimeoutException idle = assertThrows(ReaderTimeoutException.class, () -> r.next(100));
            assertFalse(idle.committed());
            assertTrue(idle.getMessage().contains("was not committed within"), idle.getMessage());
            Thread closer = new Thread(() -> StreamEnd.close(fs));
            closer.start();
            assertThrows(EndOfStreamException.class, () -> r.next(PATIENT_MS));
            closer.join();
        }
    }

    /** The direct reader and an elastic one (world size 1 over a stream of 2) report exhaustion alike. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void batchesTheConsumerDoesNotCloseExhaustThePoolAndTheErrorSaysSo(boolean elastic) {
        ObjectStore fs = produced(120); // 20 steps, all committed
        ReaderOptions opts = ReaderOptions.defaults().withPrefetch(1); // a pool of 4 slabs
        try (RankReader r = elastic ? RankReader.openElastic(fs, 0, 1, 0, opts) : RankReader.open(fs, 0, W, 0, opts)) {
            List<StepBatch> kept = new ArrayList<>();
            PoolExhaustedException e = null;
            while (e == null && kept.size() < 20) {
                try {
                    kept.add(r.next(2_000));
                } catch (PoolExhaustedException x) {
                    e = x;
                }
            }
            assertTrue(e != null, "holding every batch must exhaust a 4-slab pool before step 20");
            long stuck = kept.size();
            assertEquals(stuck, e.step());
            List<Long> heldSteps = kept.stream().map(StepBatch::step).toList();
            assertEquals(heldSteps, e.heldSteps());
            assertEquals(heldSteps, r.heldSteps());
            assertTrue(e.getMessage().contains("step " + stuck + " of " + fs.describe() + " (rank 0) is committed but could not be fetched"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(kept.size() + " of them by batches the consumer has not closed (steps 0, 1"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("was not committed"), e.getMessage());

            // the reader stays usable: closing the held batches lets the same step through, nothing skipped
            kept.forEach(StepBatch::close);
            assertEquals(List.of(), r.heldSteps());
            try (StepBatch b = r.next(PATIENT_MS)) {
                assertEquals(stuck, b.step());
            }
        }
    }
}
