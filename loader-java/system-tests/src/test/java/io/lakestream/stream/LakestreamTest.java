package io.lakestream.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.StreamLayout;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.SharedFollower;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import io.lakestream.time.Threads;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One handle per open stream: its readers share its one follower, two handles are independent,
 * closing it stops the follower and closes the store only if it opened it, a reader leaving does
 * not disturb the handle's other readers, and the rest of the API opens from it with its env.
 */
class LakestreamTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private static void produce(ObjectStore store, String id, long steps) {
        Streams.produce(store, id, W, 1, new SyntheticSource(W * steps, 3, 0, 1, 8), -1, Streams.opts()).close();
    }

    private static void read(RankReader r, long from, long to) {
        for (long s = from; s < to; s++) {
            try (StepBatch b = r.next(20_000)) {
                assertEquals(s, b.step());
            }
        }
    }

    @Test
    void theReadersOfAHandleShareItsOneFollower() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 3);
        try (Lakestream stream = Lakestream.open(fs, StreamEnv.defaults());
             RankReader a = stream.reader(0, W, 0, ReaderOptions.defaults());
             RankReader b = stream.reader(1, W, 0, ReaderOptions.defaults())) {
            SharedFollower f = stream.follower();
            assertSame(f, a.follower());
            assertSame(f, b.follower());
            read(a, 0, 3);
            read(b, 0, 3);
            produce(fs, "q", 2); // steps 3 and 4, seen by the follower's polls while the readers wait
            read(a, 3, 5);
            read(b, 3, 5);
            assertTrue(f.polls() > 0, "the follower polled while the readers waited");
        }
    }

    @Test
    void readersOfTwoHandlesOnOneStoreAreIndependent() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 2);
        try (Lakestream second = Lakestream.open(fs, StreamEnv.defaults());
             RankReader b = second.reader(1, W, 0, ReaderOptions.defaults())) {
            try (Lakestream first = Lakestream.open(fs, StreamEnv.defaults());
                 RankReader a = first.reader(0, W, 0, ReaderOptions.defaults())) {
                assertNotSame(a.follower(), b.follower(), "one follower per handle, not per store");
                read(a, 0, 2);
            }
            produce(fs, "q", 2); // after the first handle closed: the second's follower still follows
            read(b, 0, 4);
        }
    }

    @Test
    void closingTheHandleStopsItsFollowerAndClosesOnlyAStoreItOpened() {
        ClosingStore borrowed = new ClosingStore(FileStore.open(dir.resolve("s"), true));
        produce(borrowed, "p", 2);
        Workers workers = new Workers();
        Lakestream stream = Lakestream.open(borrowed, StreamEnv.defaults().withThreads(workers));
        Threads.Worker follow;
        try (RankReader r = stream.reader(0, W, 0, ReaderOptions.defaults())) {
            read(r, 0, 2);
            follow = workers.named("lakestream-follow ");
            assertFalse(join(follow), "the follower's worker runs while the handle is open");
        }
        assertFalse(join(follow), "nor does the last reader leaving stop it (the handle does)");
        stream.close();
        assertTrue(join(follow), "closing the handle stopped the follower's worker");
        assertFalse(borrowed.closed(), "a store the handle was given stays its caller's");
        stream.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> stream.reader(0, W, 0, ReaderOptions.defaults()));

        Lakestream owner = Lakestream.open("closing://" + dir.resolve("s"), StreamEnv.defaults());
        try (RankReader r = owner.reader(1, W, 0, ReaderOptions.defaults())) {
            read(r, 0, 2);
        }
        ObjectStore opened = owner.store();
        owner.close();
        assertThrows(IllegalStateException.class, () -> opened.get("stream.json"), "the handle closed the store it opened");
    }

    /** The case the follower once switched stores for: the handle's store outlives every reader. */
    @Test
    void aReaderClosingDoesNotStopTheOtherReaderOfItsHandle() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 2);
        try (Lakestream stream = Lakestream.open("closing://" + dir.resolve("s"), StreamEnv.defaults());
             RankReader b = stream.reader(1, W, 0, ReaderOptions.defaults())) {
            try (RankReader a = stream.reader(0, W, 0, ReaderOptions.defaults())) { // the first reader leaves
                read(a, 0, 1);
            }
            produce(fs, "q", 2); // 2 more steps, committed after it left
            read(b, 0, 4);
        }
    }

    @Test
    void aReaderWaitingOnTheLogFailsWhenItsHandleCloses() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 1);
        Lakestream stream = Lakestream.open(fs, StreamEnv.defaults());
        try (RankReader r = stream.reader(0, W, 0, ReaderOptions.defaults())) {
            read(r, 0, 1); // step 1 is not committed: the reader waits on the follower
            stream.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.next(20_000));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void producersCheckpointsGcAndLineageOpenFromTheHandle() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        try (Lakestream stream = Lakestream.open(fs, StreamEnv.defaults())) {
            try (TgbProducer p = stream.producer("p", Streams.config(W), Streams.opts())) {
                Streams.produceWith(p, W, 1, new SyntheticSource(W * 3, 3, 0, 1, 8), -1);
            }
            assertEquals(3, stream.log(true).state().committedSteps());
            stream.recordCheckpoint(2, "ck");
            assertEquals(2, stream.log(true).state().latestCheckpoint().step());
            assertEquals("p", stream.blame(1, -1).producer());
            assertFalse(stream.find(0).hits().isEmpty(), "record 0 was trained at step 0");
            assertEquals(2, stream.garbageCollector().run(true).floor(), "the checkpoint is the floor");
        }
        assertFalse(fs.list("", null, 1).isEmpty(), "the given store is still usable");
    }

    /**
     * A trainer's checkpoints go through the handle's held log, which takes the versions the
     * follower already parsed from the handle's cache: recording a checkpoint after the follower
     * saw two new steps reads no version file the follower read (only the absent next one, to
     * confirm the head), and a log that shares no cache reads them all again.
     */
    @Test
    void checkpointsThroughTheHandleReuseTheVersionsItsFollowerRead() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 1);
        List<String> gets = new CopyOnWriteArrayList<>();
        HookStore store = new HookStore(fs);
        ManualClock clock = new ManualClock(1_000_000);
        try (Lakestream stream = Lakestream.driven(store, new StreamEnv(clock, FailPoints.none()))) {
            assertTrue(stream.recordCheckpoint(1, "ck1").committed());
            SharedFollower f = stream.follower();
            produce(fs, "q", 1);
            produce(fs, "r", 1); // steps 1 and 2, two versions, seen by the follower's poll
            f.pollOnce(clock.monotonicNanos());
            assertEquals(3, f.log().state().committedSteps());
            long head = f.log().state().version();
            store.getHook = k -> gets.add(k);
            stream.recordCheckpoint(3, "ck3");
            List<String> versionsRead = gets.stream().filter(k -> k.startsWith(StreamLayout.LOG_PREFIX)).toList();
            assertEquals(List.of(StreamLayout.versionKey(head + 1)), versionsRead,
                    "only the head's next version (absent, then ours) is read: the two new ones came from the follower");
            gets.clear();
            ManifestLog own = ManifestLog.open(store, true); // no shared cache: reads every version after the snapshot
            assertTrue(gets.containsAll(List.of(StreamLayout.versionKey(head - 1), StreamLayout.versionKey(head))), gets.toString());
            assertEquals(3, own.state().latestCheckpoint().step());
        }
    }

    /**
     * A stream deleted and created again where the handle's checkpoint log was opened: the next
     * checkpoint sees the new config (a stat of the config file tells) and commits to the new
     * stream's log, not on top of the old one's state.
     */
    @Test
    void aStreamCreatedAgainUnderTheHandleGetsItsCheckpointInItsOwnLog() throws Exception {
        Path where = dir.resolve("s");
        FileStore fs = FileStore.open(where, true);
        produce(fs, "p", 3);
        try (Lakestream stream = Lakestream.open(fs, StreamEnv.defaults())) {
            stream.recordCheckpoint(3, "old");
            assertEquals(3, stream.checkpointLog().state().committedSteps());
            for (io.lakestream.store.ObjectInfo o : fs.list("", null, 100_000)) {
                fs.delete(o.key());
            }
            produce(fs, "p2", 1); // a new stream, created later: its config differs (its creation time at least)
            CommitResult r = stream.recordCheckpoint(1, "new");
            assertTrue(r.committed());
            ManifestState s = ManifestLog.open(fs, true).state();
            assertEquals(1, s.committedSteps());
            assertEquals(1, s.latestCheckpoint().step());
            assertEquals("new", s.latestCheckpoint().id());
            assertSame(stream.checkpointLog(), stream.checkpointLog(), "held between calls while the config stays");
        }
    }

    /** A driven handle's follower has no worker: the reader learns of a new step when the owner polls. */
    @Test
    void aDrivenHandleLooksAtTheLogOnlyWhenItsOwnerPolls() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 1);
        ManualClock clock = new ManualClock(1_000_000);
        try (Lakestream stream = Lakestream.driven(fs, new StreamEnv(clock, FailPoints.none()));
             RankReader r = stream.reader(0, W, 0, ReaderOptions.defaults())) {
            read(r, 0, 1);
            produce(fs, "q", 1); // step 1
            SharedFollower f = stream.follower();
            assertEquals(1, f.log().state().committedSteps(), "nobody polled: the follower has not seen step 1");
            f.pollOnce(clock.monotonicNanos());
            assertEquals(2, f.log().state().committedSteps());
            read(r, 1, 2);
        }
    }

    private static boolean join(Threads.Worker w) {
        try {
            return w.join(1);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The platform's threads, remembering the workers started through them (this env's only). */
    private static final class Workers implements Threads {
        private final List<String> names = new CopyOnWriteArrayList<>();
        private final List<Worker> started = new CopyOnWriteArrayList<>();

        Worker named(String prefix) {
            for (int i = 0; i < names.size(); i++) {
                if (names.get(i).startsWith(prefix)) {
                    return started.get(i);
                }
            }
            throw new AssertionError("no worker " + prefix + "* among " + names);
        }

        @Override
        public synchronized Worker start(String name, Runnable body) {
            Worker w = Threads.platform().start(name, body);
            names.add(name);
            started.add(w);
            return w;
        }

        @Override
        public Pool pool(String name, int parallelism) {
            return Threads.platform().pool(name, parallelism);
        }

        @Override
        public void lock(Lock lock) {
            Threads.platform().lock(lock);
        }

        @Override
        public void await(Lock lock, Condition condition, long nanos) throws InterruptedException {
            Threads.platform().await(lock, condition, nanos);
        }

        @Override
        public void signalAll(Condition condition) {
            Threads.platform().signalAll(condition);
        }
    }
}
