package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.DType;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.TgbEntry;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ForwardingThreads;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import io.lakestream.time.Threads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RankReaderTest {
    static final int W = 2;
    static final int B = 3;
    static final int L = 16;

    @TempDir
    Path dir;

    private ObjectStore produced(long records, boolean lz4) {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", W, B, new SyntheticSource(records, 11, 0, 1, L), -1, lz4 ? Streams.lz4() : Streams.opts()).close();
        return fs;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void restartFromAnyStepGivesByteIdenticalShards(boolean lz4) {
        ObjectStore fs = produced(60, lz4); // 10 steps
        List<List<Streams.Seen>> first = Streams.readAll(fs, W);
        for (int rank = 0; rank < W; rank++) {
            for (long from = 0; from < 10; from += 3) {
                List<Streams.Seen> again = Streams.readRank(fs, rank, W, from, 10);
                for (Streams.Seen s : again) {
                    Streams.Seen orig = first.get(rank).get((int) s.step());
                    assertEquals(orig.sha256(), s.sha256(), "rank " + rank + " step " + s.step() + " re-read from " + from);
                    assertArrayEquals(orig.ids(), s.ids());
                }
            }
        }
    }

    @Test
    void nextTimesOutOnTheInjectedClockNotOnTheWallClock() throws Exception {
        ObjectStore fs = produced(12, false); // 2 steps
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        try (RankReader r = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults(), null, StreamEnv.defaults().withClock(clock))) {
            // committed steps arrive however long the fetch takes in real time: the clock stands still
            r.next(1_000).close();
            r.next(1_000).close();
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    r.next(60_000).close();
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            waiter.start();
            waiter.join(300);
            assertTrue(waiter.isAlive(), "60 s of injected time have not passed: still waiting for step 2");
            clock.advance(59_999);
            waiter.join(300);
            assertTrue(waiter.isAlive(), "one millisecond short of the timeout: still waiting");
            clock.advance(1);
            waiter.join(30_000);
            ReaderTimeoutException e = assertInstanceOf(ReaderTimeoutException.class, outcome.get());
            assertEquals(2, e.step(), e.getMessage());
            assertEquals(2, r.nextStep(), "a timeout leaves the reader at the step it waits for");
        }
    }

    @Test
    void tensorsCarryTheSyntheticRecordsExactly() {
        ObjectStore fs = produced(6, false);
        try (RankReader r = RankReader.open(fs, 1, W, 0, ReaderOptions.defaults()); StepBatch b = r.next(10_000)) {
            Tensor tokens = b.tensor("tokens");
            assertEquals(DType.I32, tokens.dtype());
            assertArrayEquals(new long[] {B, L}, tokens.shape());
            long[] ids = b.tensor("record_id").toLongArray();
            assertArrayEquals(new long[] {3, 4, 5}, ids);
            int[] t = tokens.toIntArray();
            for (int s = 0; s < B; s++) {
                for (int j = 0; j < L; j++) {
                    assertEquals(SyntheticSource.token(11, ids[s], j), t[s * L + j]);
                }
            }
        }
    }

    @Test
    void finalPartialBatchIsSpreadOverRanksAndNothingIsDropped() {
        ObjectStore fs = produced(8, false); // one full step of 6, then 2 left: one per rank
        List<List<Streams.Seen>> all = Streams.readAll(fs, W);
        assertEquals(2, all.get(0).size());
        assertEquals(1, all.get(0).get(1).ids().length);
        assertEquals(1, all.get(1).get(1).ids().length);
        Streams.assertExactlyOnce(all, Streams.range(8));
    }

    @Test
    void flippedByteIsAChecksumErrorNamingStreamStepRankAndObject() throws Exception {
        ObjectStore fs = produced(30, false);
        TgbEntry e = ManifestLog.open(fs).entry(2);
        Path obj = dir.resolve("s").resolve(e.object());
        byte[] bytes = Files.readAllBytes(obj);
        long at = e.shards().get(1).offset() + e.shards().get(1).length() - 5;
        bytes[(int) at] ^= 0x01;
        Files.write(obj, bytes);
        try (RankReader r = RankReader.open(fs, 1, W, 2, ReaderOptions.defaults())) {
            ChecksumMismatchException x = assertThrows(ChecksumMismatchException.class, () -> r.next(10_000));
            String m = x.getMessage();
            assertTrue(m.contains("step 2") && m.contains("rank 1") && m.contains(e.object()) && m.contains(fs.describe()), m);
            assertEquals(2, x.step());
            assertEquals(1, x.rank());
            assertEquals(e.object(), x.key());
            assertEquals(fs.describe(), x.stream());
            assertThrows(IllegalStateException.class, () -> r.next(1000), "a failed reader does not skip the bad step");
        }
        // rank 0's shard of that step is intact and still readable
        assertEquals(1, Streams.readRank(fs, 0, W, 2, 3).size());
    }

    @Test
    void waitsForUncommittedStepsAndTimesOutClearly() throws Exception {
        ObjectStore fs = produced(6, false);
        try (RankReader r = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults())) {
            r.next(10_000).close();
            ReaderTimeoutException t = assertThrows(ReaderTimeoutException.class, () -> r.next(200));
            assertEquals(1, t.step());
            Thread late = new Thread(() -> {
                try (TgbProducer p = Streams.produce(fs, "q", W, B, new SyntheticSource(6, 2, 0, 1, L), -1, Streams.opts())) {
                    // committed on close of the try block's produce
                }
            });
            late.start();
            try (StepBatch b = r.next(30_000)) {
                assertEquals(1, b.step(), "the reader picked up the step committed while it waited");
            }
            late.join();
        }
    }

    @Test
    void batchMemoryIsUnusableAfterClose() {
        ObjectStore fs = produced(6, false);
        try (RankReader r = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults())) {
            StepBatch b = r.next(10_000);
            Tensor t = b.tensor("record_id");
            b.close();
            assertThrows(IllegalStateException.class, t::toLongArray, "use after release must throw, not read reused memory");
        }
    }

    @Test
    void badArgumentsAreClearErrors() {
        ObjectStore fs = produced(6, false);
        WorldSizeMismatchException w = assertThrows(WorldSizeMismatchException.class,
                () -> RankReader.open(fs, 0, 4, 0, ReaderOptions.defaults()));
        assertTrue(w.getMessage().contains("world size 2"), w.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RankReader.open(fs, 2, W, 0, ReaderOptions.defaults()));
        assertThrows(IllegalArgumentException.class, () -> RankReader.open(fs, 0, W, -1, ReaderOptions.defaults()));
    }

    /** Platform threads that add the name of every worker started to {@code started}. */
    private static Threads recordingStarts(List<String> started) {
        return new ForwardingThreads() {
            @Override
            public Worker start(String name, Runnable body) {
                started.add(name);
                return super.start(name, body);
            }
        };
    }

    @Test
    void theReadersThreadsComeFromItsEnvAndKeepTheirProductionNames() throws Exception {
        ObjectStore fs = produced(30, true); // 5 steps, LZ4
        List<String> started = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Threads recording = recordingStarts(started);
        try (RankReader r = RankReader.open(fs, 1, W, 0, ReaderOptions.defaults().withPrefetch(2), null,
                StreamEnv.defaults().withThreads(recording))) {
            for (long step = 0; step < 5; step++) {
                try (StepBatch b = r.next(10_000)) {
                    assertEquals(step, b.step());
                }
            }
            java.util.Set<String> live = new java.util.HashSet<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                live.add(t.getName());
            }
            assertTrue(live.contains("lakestream-dispatch-r1") && live.contains("lakestream-fetch-r1"), live.toString());
        }
        // the follower, the dispatcher and at most prefetch fetch threads, all through the env, with the names they always had
        assertEquals("lakestream-follow " + fs.describe(), started.get(0), started.toString());
        assertEquals("lakestream-dispatch-r1", started.get(1), started.toString());
        assertTrue(started.size() >= 3 && started.size() <= 4, started.toString());
        for (String n : started.subList(2, started.size())) {
            assertEquals("lakestream-fetch-r1", n);
        }
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            assertTrue(!t.getName().startsWith("lakestream-dispatch-r1") && !t.getName().startsWith("lakestream-fetch-r1")
                    || !t.isAlive(), "close stops the reader's threads: " + t.getName());
        }
    }

    /**
     * A reader at the head of the stream (each step committed only after the reader holds the one
     * before) has its dispatcher fetch every step itself: no fetch thread starts, so no thread
     * hand-off lies between the follower knowing a step and its fetch (the append-to-visible
     * tail). The steps are still the right ones, in order.
     */
    @Test
    void aReaderAtTheHeadFetchesOnItsDispatcherWithoutFetchThreads() throws Exception {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        SyntheticSource src = new SyntheticSource(1_000, 11, 0, 1, L);
        List<String> started = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Threads recording = recordingStarts(started);
        try (TgbProducer p = Streams.produce(fs, "p", W, B, src, 0, Streams.opts());
             RankReader r = RankReader.open(fs, 1, W, 0, ReaderOptions.defaults().withPrefetch(2), null,
                     StreamEnv.defaults().withThreads(recording))) {
            for (long step = 0; step < 6; step++) {
                Streams.produceWith(p, W, B, src, 1); // one step, committed
                try (StepBatch b = r.next(10_000)) {
                    assertEquals(step, b.step());
                    assertArrayEquals(new long[] {step * W * B + 3, step * W * B + 4, step * W * B + 5},
                            b.tensor("record_id").toLongArray());
                }
            }
        }
        assertTrue(started.contains("lakestream-dispatch-r1"), started.toString());
        assertTrue(!started.contains("lakestream-fetch-r1"), "at the head the dispatcher fetches: " + started);
    }

    /**
     * Regression (found by scripts/dst, seed 1235, once ProtocolSim ran RankReader): a consumer
     * slower than the stream keeps the queue full while the dispatcher, caught up with the log,
     * waits for the next commit; when the follower's poll failed past the store's retries, the
     * failure handed to the dispatcher met the full queue, was dropped, and the dispatcher ended:
     * next() then timed out forever (even once the store was back) instead of reporting it.
     */
    @Test
    void aFollowerFailureWhileTheQueueIsFullIsReportedNotDropped() throws Exception {
        ObjectStore fs = produced(30, false); // 5 steps, of which the feed shows 2 committed
        ManifestLog log = ManifestLog.open(fs);
        java.util.concurrent.CountDownLatch failed = new java.util.concurrent.CountDownLatch(1);
        io.lakestream.store.StoreException outage = new io.lakestream.store.StoreException("GET of the next version failed",
                "_log/00000000000000000009.json");
        StepFeed feed = new StubFeed(W) {
            @Override
            public long committedSteps() {
                return 2;
            }

            @Override
            public void await(long step, long maxWaitNanos) {
                // the follower's poll failed past the retries: the waiting dispatcher gets the failure
                failed.countDown();
                throw outage;
            }

            @Override
            public TgbEntry entry(long step) {
                return log.entry(step);
            }
        };
        // The dispatcher has dealt with the failure once it ended or waits (for room in the queue).
        java.util.concurrent.CountDownLatch settled = new java.util.concurrent.CountDownLatch(1);
        Threads observed = new ForwardingThreads() {
            @Override
            public Worker start(String name, Runnable body) {
                return super.start(name, name.startsWith("lakestream-dispatch") ? () -> {
                    try {
                        body.run();
                    } finally {
                        settled.countDown();
                    }
                } : body);
            }

            @Override
            public void await(java.util.concurrent.locks.Lock lock, java.util.concurrent.locks.Condition c, long nanos)
                    throws InterruptedException {
                if (failed.getCount() == 0 && Thread.currentThread().getName().startsWith("lakestream-dispatch")) {
                    settled.countDown();
                }
                super.await(lock, c, nanos);
            }
        };
        // prefetch 1: steps 0 and 1 fill the queue (the consumer has not asked yet), then the wait for step 2 fails
        try (RankReader r = RankReader.open(fs, 0, W, 0, ReaderOptions.defaults().withPrefetch(1), null,
                StreamEnv.defaults().withThreads(observed), feed, false)) {
            assertTrue(settled.await(30, java.util.concurrent.TimeUnit.SECONDS));
            r.next(10_000).close();
            r.next(10_000).close();
            io.lakestream.store.StoreException e = assertThrows(io.lakestream.store.StoreException.class, () -> r.next(10_000));
            assertTrue(e == outage, e.toString());
        }
    }
}
