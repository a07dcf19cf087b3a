package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One log follower per process and stream: readers share it, it does not poll while nobody
 * waits, it survives the store of the reader it read through being closed, and it serves a
 * reader that joins below the part of the log it already forgot.
 */
class SharedFollowerTest {
    static final int W = 4;

    @TempDir
    Path dir;

    private static void produce(ObjectStore fs, String id, long records, long start) {
        Streams.produce(fs, id, W, 1, new SyntheticSource(records, 3, 0, 1, 8), -1, Streams.opts()).close();
    }

    @Test
    void theRanksOfAProcessShareOneFollowerThatRestsWhileNobodyWaits() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 40, 0); // 10 steps
        CountingStore counting = new CountingStore(fs);
        int before = SharedFollower.followers();
        List<RankReader> readers = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            readers.add(RankReader.open(counting, r, W, 0, ReaderOptions.defaults().withPrefetch(2)));
        }
        assertEquals(before + 1, SharedFollower.followers(), "four ranks, one follower");
        for (RankReader r : readers) {
            r.next(10_000).close(); // every rank has data queued: nobody waits for the log
        }
        long gets = counting.gets.get() - counting.rangedReads.get();
        long polls = readers.get(0).logPolls();
        Thread.sleep(300);
        assertEquals(polls, readers.get(0).logPolls(), "no polling while every reader has data");
        assertEquals(gets, counting.gets.get() - counting.rangedReads.get(), "no log GETs either");
        for (RankReader r : readers) {
            r.close();
        }
        assertEquals(before, SharedFollower.followers(), "the last reader stops it");
    }

    @Test
    void aReaderLeavingWithItsStoreDoesNotStopTheOthers() throws Exception {
        FileStore shared = FileStore.open(dir.resolve("s"), true);
        produce(shared, "p", 8, 0); // 2 steps
        ObjectStore first = FileStore.open(dir.resolve("s"), false);
        ObjectStore second = FileStore.open(dir.resolve("s"), false);
        RankReader a = RankReader.open(first, 0, W, 0, ReaderOptions.defaults()); // the follower reads through a's store
        RankReader b = RankReader.open(second, 1, W, 0, ReaderOptions.defaults());
        a.close();
        first.close();
        produce(shared, "q", 8, 0); // 2 more steps, committed after a left
        for (long s = 0; s < 4; s++) {
            try (StepBatch batch = b.next(20_000)) {
                assertEquals(s, batch.step());
            }
        }
        b.close();
    }

    @Test
    void aReaderJoiningBelowTheForgottenTailGetsItsSteps() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 4 * 700, 0); // 700 steps
        List<List<Streams.Seen>> expected = Streams.readAll(fs, W);
        RankReader ahead = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults());
        for (long s = 0; s < 690; s++) {
            ahead.next(20_000).close(); // the follower forgets the tail below this reader, a chunk at a time
        }
        long forgotten = ahead.log().state().tailFirstStep();
        assertTrue(forgotten > 0, "the shared tail was trimmed");
        try (RankReader late = RankReader.open(fs, 1, W, 3, ReaderOptions.defaults())) {
            for (long s = 3; s < 700; s++) {
                try (StepBatch b = late.next(20_000)) {
                    assertEquals(s, b.step());
                    assertEquals(expected.get(1).get((int) s).object(), b.object());
                    assertArrayEquals(expected.get(1).get((int) s).ids(), b.tensor("record_id").toLongArray());
                }
            }
        }
        ahead.close();
        assertEquals(700, ManifestLog.open(fs, true).state().committedSteps());
    }
}
