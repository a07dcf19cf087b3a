package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.stream.Lakestream;
import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One log follower per handle: the readers of a handle share it, it does not poll while nobody
 * waits, one look is one {@code pollOnce} paced on the injected clock, and it serves a reader that
 * joins below the part of the log it already forgot. (Its owner's lifecycle: {@code LakestreamTest}.)
 */
class SharedFollowerTest {
    static final int W = 4;
    static final long MS = 1_000_000L;

    @TempDir
    Path dir;

    private static void produce(ObjectStore fs, String id, long records, long start) {
        Streams.produce(fs, id, W, 1, new SyntheticSource(records, 3, 0, 1, 8), -1, Streams.opts()).close();
    }

    @Test
    void theRanksOfAHandleShareOneFollowerThatRestsWhileNobodyWaits() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 40, 0); // 10 steps, all committed before any reader opens
        CountingStore counting = new CountingStore(fs);
        try (Lakestream stream = Lakestream.open(counting, StreamEnv.defaults())) {
            List<RankReader> readers = new ArrayList<>();
            for (int r = 0; r < W; r++) {
                readers.add(stream.reader(r, W, 0, ReaderOptions.defaults().withPrefetch(2)));
            }
            SharedFollower f = stream.follower();
            for (RankReader r : readers) {
                assertSame(f, r.follower(), "four ranks of a handle, one follower");
                r.next(10_000).close(); // every rank has data queued: nobody waits for the log
            }
            // Every step the readers asked for was committed when they asked: nobody ever waited, so
            // the worker never looked at the log (its only reads were the opening load and catch-ups).
            assertEquals(0, f.waiting());
            assertEquals(Long.MAX_VALUE, f.nextPollNanos(), "no poll scheduled while nobody waits");
            assertEquals(0, readers.get(0).logPolls(), "the worker made no poll");
            for (RankReader r : readers) {
                r.close();
            }
            try (RankReader own = RankReader.open(counting, 0, W, 0, ReaderOptions.defaults())) {
                assertNotSame(f, own.follower(), "a reader opened without the handle has a follower of its own");
            }
            try (RankReader later = stream.reader(0, W, 0, ReaderOptions.defaults())) {
                assertSame(f, later.follower(), "the handle's follower outlives its readers");
            }
        }
    }

    /** One look at the log per {@link SharedFollower#pollOnce}, paced on the injected clock. */
    @Test
    void pollOnceLooksOnceAndPacesOnTheInjectedClock() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 8, 0); // 2 steps
        CountingStore counting = new CountingStore(fs);
        ManualClock clock = new ManualClock(1_000_000);
        SharedFollower f = SharedFollower.driven(counting, new StreamEnv(clock, FailPoints.none()));
        try (FollowerSubscription sub = f.subscribe(0, ReaderOptions.defaults())) {
            long t = clock.monotonicNanos();
            counting.reset();
            long next = f.pollOnce(t);
            assertEquals(1, counting.gets.get() + counting.lists.get(), "nothing new: one GET (the next version, absent)");
            assertEquals(1, f.polls());
            assertEquals(t + MS, next, "min poll 1 ms; a GET took no time on this clock");
            produce(fs, "q", 4, 0); // one more version: step 2
            clock.advance(5);
            counting.reset();
            long v0 = f.log().state().version();
            f.pollOnce(clock.monotonicNanos());
            long found = f.log().state().version() - v0; // q's epoch claim and its batch
            assertEquals(3, f.log().state().committedSteps());
            assertTrue(found >= 1);
            assertEquals(1 + 1 + found, f.polls(), "each version found counts, and the GET after them that found nothing");
            assertEquals(1 + found, counting.gets.get() + counting.lists.get(), "and that is what the store saw");
            assertEquals(sub.entry(2).producer(), "q");
            // Silence: past max(1 s, 4 gaps) the interval doubles per look, up to max poll (100 ms).
            clock.advance(2_000);
            List<Long> intervals = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                long now = clock.monotonicNanos();
                long at = f.pollOnce(now);
                intervals.add((at - now) / MS);
                clock.advance((at - now) / MS);
            }
            assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 32L, 64L, 100L, 100L), intervals);
            long before = counting.gets.get();
            f.pollOnce(clock.monotonicNanos());
            assertEquals(before + 1, counting.gets.get(), "one GET per look, however long the silence");
        }
    }

    /**
     * A waiting reader wakes the worker, which polls when the injected clock says: at once if
     * its last look is at least the min poll interval old, else that interval after it.
     */
    @Test
    void aWaitingReaderIsServedOnTheInjectedClock() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 8, 0); // 2 steps
        ManualClock clock = new ManualClock(1_000_000);
        StreamEnv env = new StreamEnv(clock, FailPoints.none());
        // Through a store that passes on no change signal (a CountingStore): the pacing alone decides.
        try (RankReader r = RankReader.open(new CountingStore(fs), 0, W, 2, ReaderOptions.defaults(), null, env)) {
            SharedFollower f = r.follower();
            produce(fs, "q", 4, 0); // step 2, after the reader's look
            // The dispatcher waits for step 2; the follower looked at open time and the clock has
            // not moved, so its next look is due 1 ms (the min poll) after that one.
            long opened = clock.monotonicNanos();
            while (f.waiting() == 0) {
                Thread.onSpinWait(); // the dispatcher starts waiting for step 2
            }
            assertEquals(opened + MS, f.nextPollNanos());
            clock.advance(1);
            try (StepBatch b = r.next(60_000)) { // the deadline is on the manual clock too
                assertEquals(2, b.step());
                assertTrue(b.object().contains("/q/"), b.object());
            }
        }
    }

    /**
     * On a local file system the store signals new log files (inotify): a reader waiting for a
     * producer that is silent costs a look per fallback interval (max poll, 100 ms), not one
     * per min poll (1 ms), and the commit still wakes it at once. The sleep is the silent
     * producer, not a synchronisation: the bound is relative to the time that passed.
     */
    @Test
    void onALocalFileStoreAWaitingReaderIsWokenByTheCommitNotByATimer() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 8, 0); // 2 steps
        try (RankReader r = RankReader.open(fs, 0, W, 2, ReaderOptions.defaults().withPrefetch(1))) {
            SharedFollower f = r.follower();
            while (f.waiting() == 0) {
                Thread.onSpinWait(); // the dispatcher starts waiting for step 2
            }
            long polls = f.polls();
            long t0 = System.nanoTime();
            Thread.sleep(300);
            long idle = f.polls() - polls;
            long elapsedMs = (System.nanoTime() - t0) / MS;
            assertTrue(idle <= 2 + elapsedMs / 100, idle + " looks in " + elapsedMs + " ms of silence (1 ms pacing: ~"
                    + elapsedMs + ")");
            produce(fs, "q", 4, 0); // step 2
            try (StepBatch b = r.next(20_000)) {
                assertEquals(2, b.step());
                assertTrue(b.object().contains("/q/"), b.object());
            }
        }
    }

    @Test
    void aReaderJoiningBelowTheForgottenTailGetsItsSteps() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 4 * 700, 0); // 700 steps
        List<List<Streams.Seen>> expected = Streams.readAll(fs, W);
        Lakestream stream = Lakestream.open(fs, StreamEnv.defaults());
        RankReader ahead = stream.reader(0, W, 0, ReaderOptions.defaults());
        for (long s = 0; s < 690; s++) {
            ahead.next(20_000).close(); // the follower forgets the tail below this reader, a chunk at a time
        }
        long forgotten = ahead.log().state().tailFirstStep();
        assertTrue(forgotten > 0, "the shared tail was trimmed");
        try (RankReader late = stream.reader(1, W, 3, ReaderOptions.defaults())) {
            assertSame(ahead.follower(), late.follower(), "one follower, which has forgotten step 3's entry");
            for (long s = 3; s < 700; s++) {
                try (StepBatch b = late.next(20_000)) {
                    assertEquals(s, b.step());
                    assertEquals(expected.get(1).get((int) s).object(), b.object());
                    assertArrayEquals(expected.get(1).get((int) s).ids(), b.tensor("record_id").toLongArray());
                }
            }
        }
        ahead.close();
        stream.close();
        assertEquals(700, ManifestLog.open(fs, true).state().committedSteps());
    }
}
