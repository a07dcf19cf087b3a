package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.stream.Lakestream;
import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Json;
import io.lakestream.log.EntryWire;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamEnd;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.ForwardingThreads;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One log follower per job: rank 0 follows the log and hands each step's entry to the others
 * over a {@link StepExchange}; the others never read the log, read the same bytes as an
 * independent reader, and refuse a hand-off that is not a valid entry for the stream.
 */
class JobFeedTest {
    static final int W = 4;

    @TempDir
    Path dir;

    private static void produce(ObjectStore fs, String id, long records) {
        Streams.produce(fs, id, W, 1, new SyntheticSource(records, 3, 0, 1, 8), -1, Streams.opts()).close();
    }

    private static List<String> digests(RankReader r) throws Exception {
        List<String> out = new ArrayList<>();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        while (true) {
            try (StepBatch b = r.next(30_000)) {
                assertEquals(out.size(), b.step(), "in order, no gap, no duplicate");
                sha.reset();
                sha.update(b.tensorBytes().asByteBuffer());
                out.add(b.object() + " " + HexFormat.of().formatHex(sha.digest()));
            } catch (EndOfStreamException end) {
                return out;
            }
        }
    }

    @Test
    void membersReadTheLeadersStepsWithoutReadingTheLog() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 4 * 30); // 30 steps now, more while the job runs
        LocalStepExchange ex = new LocalStepExchange(W - 1, 4);
        CountingStore[] stores = new CountingStore[W];
        for (int r = 0; r < W; r++) {
            stores[r] = new CountingStore(FileStore.open(dir.resolve("s"), false));
        }
        List<List<String>> got = new ArrayList<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            got.add(null);
        }
        for (int r = 0; r < W; r++) {
            final int rank = r;
            Thread t = new Thread(() -> {
                try {
                    if (rank == 0) {
                        // the leader's hand-over and its own reader share the handle's one follower
                        try (Lakestream stream = Lakestream.open(stores[0], StreamEnv.defaults());
                             JobFeed.Leader lead = stream.jobLeader(0, ReaderOptions.defaults());
                             RankReader reader = stream.reader(0, W, 0, ReaderOptions.defaults())) {
                            assertSame(stream.follower(), reader.follower());
                            assertSame(stream.follower(), lead.follower());
                            Thread pump = new Thread(() -> {
                                try {
                                    JobFeed.pump(lead, null, ex.leader(), 8);
                                } catch (InterruptedException e) {
                                    // closing
                                }
                            });
                            pump.start();
                            got.set(0, digests(reader));
                            pump.join();
                        }
                    } else {
                        HandoffFeed feed = JobFeed.member(stores[rank], 0, StreamEnv.defaults());
                        try (RankReader reader = RankReader.open(stores[rank], rank, W, 0, ReaderOptions.defaults(), null,
                                StreamEnv.defaults(), feed, false)) {
                            Thread pump = new Thread(() -> {
                                try {
                                    JobFeed.pump(null, feed, ex.member(rank - 1), 8);
                                } catch (InterruptedException e) {
                                    // closing
                                }
                            });
                            pump.start();
                            got.set(rank, digests(reader));
                            pump.join();
                            assertEquals(null, reader.follower(), "a member has no follower");
                            assertEquals(0, reader.logPolls());
                        }
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                }
            }, "rank-" + r);
            t.start();
            threads.add(t);
        }
        produce(fs, "q", 4 * 10); // 10 steps committed while the job reads
        StreamEnd.close(fs);
        for (Thread t : threads) {
            t.join(120_000);
        }
        if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
        long steps = ManifestLog.open(fs, true).state().committedSteps();
        assertEquals(40, steps);
        List<List<Streams.Seen>> expected = Streams.readAll(fs, W);
        for (int r = 0; r < W; r++) {
            assertEquals(steps, got.get(r).size(), "rank " + r + " read every step");
            for (int s = 0; s < steps; s++) {
                Streams.Seen e = expected.get(r).get(s);
                assertEquals(e.object() + " " + e.sha256(), got.get(r).get(s), "rank " + r + " step " + s + ": the independent read's bytes");
            }
        }
        for (int r = 1; r < W; r++) {
            // a member's only non-data read is the stream config (the world size entries are checked against)
            assertEquals(1, stores[r].gets.get() - stores[r].rangedReads.get() + stores[r].lists.get(),
                    "member " + r + " read the log");
        }
        assertTrue(stores[0].gets.get() - stores[0].rangedReads.get() > 1, "the leader followed the log");
    }

    @Test
    void aWrongHandOffIsRefusedOrFailsItsChecksumNeverDeliveringWrongBytes() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 4 * 3); // 3 steps
        ManifestLog log = ManifestLog.open(fs, true);
        byte[] e0 = EntryWire.encode(log.entry(0));
        byte[] e1 = EntryWire.encode(log.entry(1));
        String stream = fs.describe();

        HandoffFeed other = new HandoffFeed(stream, 2, 0, StreamEnv.defaults());
        LogFormatException ws = assertThrows(LogFormatException.class, () -> other.offer(0, e0));
        assertTrue(ws.getMessage().contains("step 0") && ws.getMessage().contains("world size"), ws.getMessage());

        HandoffFeed gap = new HandoffFeed(stream, W, 0, StreamEnv.defaults());
        LogFormatException g = assertThrows(LogFormatException.class, () -> gap.offer(1, e1));
        assertTrue(g.getMessage().contains("expected step 0"), g.getMessage());
        gap.offer(0, e0);
        gap.offer(0, e0); // the same hand-over again: harmless
        assertThrows(LogFormatException.class, () -> gap.offer(0, e1), "a repeated step with another entry");
        byte[] msg = JobFeed.encode(1, List.of(e1), -1, null);
        LogFormatException t = assertThrows(LogFormatException.class,
                () -> gap.accept(java.util.Arrays.copyOf(msg, msg.length - 3)));
        assertTrue(t.getMessage().contains("truncated") || t.getMessage().contains("claims"), t.getMessage());

        // A hand-over whose shard checksums are flipped: valid in form, so it is taken, but the
        // read of the shard fails its CRC32C instead of delivering the bytes.
        ObjectNode n = (ObjectNode) Json.MAPPER.readTree(e0);
        ObjectNode table = (ObjectNode) n.get("shard_table");
        byte[] crcs = Base64.getDecoder().decode(table.get("crc32c").asText());
        crcs[1 * 4] ^= 0x5A; // rank 1's CRC
        table.put("crc32c", Base64.getEncoder().encodeToString(crcs));
        HandoffFeed bad = new HandoffFeed(stream, W, 0, StreamEnv.defaults());
        bad.accept(JobFeed.encode(0, List.of(Json.MAPPER.writeValueAsBytes(n)), 1, null));
        try (RankReader r = RankReader.open(fs, 1, W, 0, ReaderOptions.defaults(), null, StreamEnv.defaults(), bad, false)) {
            ChecksumMismatchException c = assertThrows(ChecksumMismatchException.class, () -> r.next(30_000));
            assertEquals(0, c.step());
            assertEquals(1, c.rank());
        }
        // The leader's error reaches the member's reader as a typed error.
        HandoffFeed dead = new HandoffFeed(stream, W, 0, StreamEnv.defaults());
        try (RankReader r = RankReader.open(fs, 2, W, 0, ReaderOptions.defaults(), null, StreamEnv.defaults(), dead, false)) {
            dead.accept(JobFeed.encode(0, List.of(), -1, "StoreException: s3 said no"));
            LeaderFailedException lf = assertThrows(LeaderFailedException.class, () -> r.next(30_000));
            assertTrue(lf.getMessage().contains("s3 said no"), lf.getMessage());
        }
        assertArrayEquals(e0, EntryWire.encode(EntryWire.decode(e0, W, "x")), "the wire form round-trips");
    }

    /**
     * A member's wait goes through the env's threads on the env's clock, as the rest of the read
     * path's: with threads that pass a manual clock on by each wait instead of waiting (what a
     * simulation does), a wait for a step nobody hands over ends at its deadline in 50 ms slices
     * of that clock, and a hand-over wakes waiters through the same threads. On its own monitor
     * the wait would never see the manual clock move (the preemptive timeout is only a guard).
     */
    @Test
    void aMembersWaitRunsOnTheEnvsThreadsAndClock() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        produce(fs, "p", 4); // 1 step
        byte[] e0 = EntryWire.encode(ManifestLog.open(fs, true).entry(0));
        ManualClock clock = new ManualClock(1_000);
        List<Long> waits = new CopyOnWriteArrayList<>();
        AtomicInteger signals = new AtomicInteger();
        ForwardingThreads simulated = new ForwardingThreads() {
            @Override
            public void await(Lock lock, Condition condition, long nanos) {
                waits.add(nanos);
                clock.advance(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos))); // waited the whole slice
            }

            @Override
            public void signalAll(Condition condition) {
                signals.incrementAndGet();
                super.signalAll(condition);
            }
        };
        HandoffFeed feed = new HandoffFeed(fs.describe(), W, 0, new StreamEnv(clock, FailPoints.none()).withThreads(simulated));
        long start = clock.monotonicNanos();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> feed.await(0, TimeUnit.SECONDS.toNanos(10)));
        assertEquals(TimeUnit.SECONDS.toNanos(10), clock.monotonicNanos() - start, "the wait ended at its deadline on the env's clock");
        assertEquals(200, waits.size(), "in 50 ms slices: " + waits.size());
        assertTrue(waits.stream().allMatch(w -> w == TimeUnit.MILLISECONDS.toNanos(50)), waits.toString());
        feed.offer(0, e0);
        assertEquals(1, signals.get(), "the hand-over woke its waiters through the env's threads");
        waits.clear();
        feed.await(0, TimeUnit.SECONDS.toNanos(10));
        assertEquals(List.of(), waits, "step 0 is there: no wait");
        feed.close();
    }
}
