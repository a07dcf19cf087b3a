package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamEnd;
import io.lakestream.log.TgbEntry;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import io.lakestream.time.Clock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One ranged GET per node per step: the node's local rank 0 fetches the node's byte range into a
 * shared file, every local rank maps its shard from it; whatever goes wrong (a corrupt copy, a
 * fetcher that never publishes, a fetcher killed with SIGKILL, a local rank that never releases),
 * every rank delivers exactly the bytes an independent read gives, or a typed error.
 */
class NodeFetchTest {
    static final int W = 4;

    @TempDir
    Path dir;

    private FileStore stream(long steps) {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", W, 2, new SyntheticSource(steps * W * 2, 5, 0, 1, 64), -1, Streams.opts()).close();
        StreamEnd.close(fs);
        return fs;
    }

    private static String digest(StepBatch b) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(b.tensorBytes().asByteBuffer());
        return b.object() + " " + HexFormat.of().formatHex(sha.digest());
    }

    /** What an independent reader (its own GET per step, no node fetch) delivers to each rank. */
    private static List<List<String>> expected(ObjectStore fs) {
        List<List<String>> out = new ArrayList<>();
        for (List<Streams.Seen> rank : Streams.readAll(fs, W)) {
            out.add(rank.stream().map(s -> s.object() + " " + s.sha256()).toList());
        }
        return out;
    }

    private static List<String> readAll(RankReader r) throws Exception {
        return readFrom(r, 0);
    }

    /** Every step from {@code first} (the reader's next step) to the stream's end. */
    private static List<String> readFrom(RankReader r, long first) throws Exception {
        List<String> out = new ArrayList<>();
        while (true) {
            try (StepBatch b = r.next(60_000)) {
                assertEquals(first + out.size(), b.step(), "in order, no gap, no duplicate");
                out.add(digest(b));
            } catch (EndOfStreamException end) {
                return out;
            }
        }
    }

    private NodeFetch node(int localRank, int localWorld) {
        return NodeFetch.of(localRank, localWorld).withDir(dir.resolve("shm")).withJobKey("test");
    }

    private static RankReader open(ObjectStore s, int rank, NodeFetch nf, StreamEnv env, int prefetch) {
        return open(s, rank, nf, env, prefetch, true);
    }

    /** {@code checked} false: the node's copies are mapped with mmap(2) itself (FileMapping), as Python's readers map them. */
    private static RankReader open(ObjectStore s, int rank, NodeFetch nf, StreamEnv env, int prefetch, boolean checked) {
        return RankReader.open(s, rank, W, 0, ReaderOptions.defaults().withPrefetch(prefetch).withCheckedViews(checked), null, env,
                null, nf);
    }

    /** Lines of this process's memory map that map a file under the node directory. */
    private List<String> nodeMappings() throws IOException {
        String shm = dir.resolve("shm").toString();
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(shm)).toList();
    }

    private long files(String suffix) throws IOException {
        Path shm = dir.resolve("shm");
        if (!Files.exists(shm)) {
            return 0;
        }
        try (Stream<Path> all = Files.walk(shm)) {
            return all.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
        }
    }

    @ParameterizedTest(name = "checked views: {0}")
    @ValueSource(booleans = {true, false})
    void twoNodesOfTwoRanksMakeTwoRangedGetsPerStep(boolean checked) throws Exception {
        long steps = 12;
        FileStore fs = stream(steps);
        List<List<String>> expected = expected(fs);
        CountingStore counting = new CountingStore(FileStore.open(dir.resolve("s"), false));
        assertTrue(checked || io.lakestream.store.FileMapping.available(), "unchecked: mmap(2) itself, no arena");
        List<RankReader> readers = new ArrayList<>();
        for (int r = 0; r < W; r++) {
            readers.add(open(counting, r, node(r % 2, 2), StreamEnv.defaults(), 4, checked));
        }
        // a held step is a mapping of its node file (so the check after closing can fail)
        String rank1Step0;
        try (StepBatch held = readers.get(1).next(60_000)) {
            assertEquals(0, held.step());
            assertFalse(nodeMappings().isEmpty(), "rank 1's step 0 is read in place from its node's file");
            rank1Step0 = digest(held);
        }
        List<CompletableFuture<List<String>>> got = new ArrayList<>();
        for (int i = 0; i < W; i++) {
            RankReader r = readers.get(i);
            long first = i == 1 ? 1 : 0;
            got.add(CompletableFuture.supplyAsync(() -> {
                try {
                    List<String> out = new ArrayList<>(first == 1 ? List.of(rank1Step0) : List.of());
                    out.addAll(readFrom(r, first));
                    return out;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, runnable -> new Thread(runnable).start()));
        }
        for (int r = 0; r < W; r++) {
            assertEquals(expected.get(r), got.get(r).get(60, TimeUnit.SECONDS), "rank " + r + ": the independent read's bytes");
            assertEquals(steps, readers.get(r).nodeServed(), "rank " + r + " read every step from its node's copy");
            assertEquals(0, readers.get(r).nodeFallbacks());
        }
        assertEquals(2 * steps, counting.rangedReads.get(), "data GETs per step = nodes (2), not ranks (4)");
        // read amplification: bytes the fetchers read over the bytes of the shards the ranks needed
        ManifestLog log = ManifestLog.open(fs, true);
        long needed = 0;
        for (long s = 0; s < steps; s++) {
            for (ShardEntry sh : log.entry(s).shards()) {
                needed += sh.length();
            }
        }
        long read = readers.get(0).bytesRead() + readers.get(2).bytesRead();
        assertEquals(read, readers.get(0).nodeFetcher().bytesRead() + readers.get(2).nodeFetcher().bytesRead());
        double amplification = (double) read / needed;
        System.out.printf("node fetch: %d ranged GETs for %d steps x %d ranks, read amplification %.4f (%d / %d bytes)%n",
                counting.rangedReads.get(), steps, W, amplification, read, needed);
        assertTrue(amplification <= 1.01, "read amplification " + amplification);
        for (RankReader r : readers) {
            r.close();
        }
        assertEquals(0, files(".step"), "every step file removed once released");
        assertEquals(0, files(".ctl"), "the fetchers removed their control files");
        List<String> left = nodeMappings();
        assertTrue(left.isEmpty(), "every mapping of a node file unmapped with its batch; " + left.size() + " left, e.g. "
                + left.subList(0, Math.min(2, left.size())));
    }

    @ParameterizedTest(name = "checked views: {0}")
    @ValueSource(booleans = {true, false})
    void aCorruptCopyIsNeverDeliveredTheRankReadsItsOwnShardOrFails(boolean checked) throws Exception {
        FileStore fs = stream(4);
        List<List<String>> expected = expected(fs);
        TgbEntry step0 = ManifestLog.open(fs, true).entry(0);
        FailPoints fp = new FailPoints();
        FailPoints.Pause pause = new FailPoints.Pause();
        fp.set(NodeFetcher.BEFORE_PUBLISH, pause, 1); // the fetcher's first step (prefetch 1: step 0)
        // rank 2 never releases step 0 (it refused that copy): a short bound keeps the closing fetcher's grace short
        try (RankReader r0 = open(fs, 0, node(0, 4).withWaitMillis(200), StreamEnv.defaults().withFailPoints(fp), 1);
             RankReader r1 = open(fs, 1, node(1, 4), StreamEnv.defaults(), 4, checked);
             RankReader r2 = open(fs, 2, node(2, 4), StreamEnv.defaults(), 4, checked);
             RankReader r2strict = open(fs, 2, node(2, 4).withFallback(false), StreamEnv.defaults(), 4, checked);
             RankReader r3 = open(fs, 3, node(3, 4), StreamEnv.defaults(), 4, checked)) {
            assertTrue(pause.awaitReached(30, TimeUnit.SECONDS));
            // step 0's node copy is complete but not yet published: flip one byte of rank 2's shard in it
            Path tmp;
            try (Stream<Path> all = Files.walk(dir.resolve("shm"))) {
                tmp = all.filter(p -> p.getFileName().toString().startsWith("0.step.tmp-")).findFirst().orElseThrow();
            }
            NodeFiles.Range range = NodeFiles.range(step0, 0, 4);
            long at = range.filePosition(step0.shards().get(2)) + 17;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, at);
                b.put(0, (byte) (b.get(0) ^ 0x5a)).rewind();
                ch.write(b, at);
            }
            pause.release();
            RankReader[] all = {r0, r1, r2, r3};
            for (int r = 0; r < W; r++) {
                assertEquals(expected.get(r), readAll(all[r]), "rank " + r + ": the independent read's bytes");
            }
            assertEquals(1, r2.nodeFallbacks(), "rank 2 refused its corrupt copy of step 0 and read its shard itself");
            assertEquals(3, r2.nodeServed());
            for (RankReader r : List.of(r0, r1, r3)) {
                assertEquals(4, r.nodeServed(), "the other ranks' copies were intact");
            }
            NodeFetchFailedException e = assertThrows(NodeFetchFailedException.class, () -> r2strict.next(30_000));
            assertTrue(e.getMessage().contains("checksum mismatch in the node's copy"), e.getMessage());
            assertEquals(0, e.step());
        }
    }

    @Test
    void aFetcherThatNeverPublishesEndsTheWaitOnTheInjectedClock() throws Exception {
        FileStore fs = stream(3);
        List<List<String>> expected = expected(fs);
        ManualClock clock = new ManualClock(1_000_000);
        StreamEnv env = StreamEnv.defaults().withClock(clock);
        long wait = 5_000;
        // local rank 1 of a node whose local rank 0 never starts
        try (RankReader lenient = open(fs, 1, node(1, 2).withWaitMillis(wait), env, 1);
             RankReader strict = open(fs, 1, node(1, 2).withWaitMillis(wait).withFallback(false), env, 1)) {
            CompletableFuture<List<String>> got = CompletableFuture.supplyAsync(() -> {
                try {
                    List<String> out = new ArrayList<>();
                    for (int s = 0; s < 3; s++) {
                        try (StepBatch b = lenient.next(1_000_000_000L)) {
                            out.add(digest(b));
                        }
                    }
                    return out;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, runnable -> new Thread(runnable).start());
            CompletableFuture<StepBatch> failed = CompletableFuture.supplyAsync(() -> strict.next(1_000_000_000L),
                    runnable -> new Thread(runnable).start());
            // both readers' fetches wait on the clock: one millisecond short of the bound changes nothing
            clock.awaitSleeps(2, 30_000);
            long before = clock.sleeps();
            clock.advance(wait - 1);
            clock.awaitSleeps(before + 2, 30_000);
            assertFalse(got.isDone());
            assertFalse(failed.isDone());
            assertEquals(0, lenient.nodeFallbacks());
            while (!got.isDone() || !failed.isDone()) {
                long s = clock.sleeps();
                clock.advance(wait);
                awaitSleepsOrDone(clock, s + 1, got, failed);
            }
            assertEquals(expected.get(1).subList(0, 3), got.get(), "the fallback's bytes are the independent read's");
            assertEquals(3, lenient.nodeFallbacks());
            assertEquals(0, lenient.nodeServed());
            ExecutionException e = assertThrows(ExecutionException.class, failed::get);
            assertTrue(e.getCause() instanceof NodeFetchFailedException, String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains("published no copy within 5000 ms"), e.getCause().getMessage());
        }
    }

    private static void awaitSleepsOrDone(ManualClock clock, long n, CompletableFuture<?> a, CompletableFuture<?> b) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (clock.sleeps() < n && !(a.isDone() && b.isDone())) {
            assertTrue(System.nanoTime() < deadline, "no reader waited on the clock");
            LockSupport.parkNanos(100_000);
        }
    }

    @Test
    void aLocalRankThatNeverReleasesLeavesAtMostTheWindow() throws Exception {
        long steps = 10;
        FileStore fs = stream(steps);
        List<List<String>> expected = expected(fs);
        // local rank 2 of 3 never starts (it died): its bit is never set, so only the window removes files
        // (a 100 ms wait bound: the closing fetcher's grace for unreleased steps is no longer)
        try (RankReader r0 = open(fs, 0, node(0, 3).withKeepSteps(3).withWaitMillis(100), StreamEnv.defaults(), 1);
             RankReader r1 = open(fs, 1, node(1, 3).withKeepSteps(3).withWaitMillis(100), StreamEnv.defaults(), 1)) {
            for (long s = 0; s < steps; s++) {
                try (StepBatch b0 = r0.next(30_000); StepBatch b1 = r1.next(30_000)) {
                    assertEquals(expected.get(0).get((int) s), digest(b0));
                    assertEquals(expected.get(1).get((int) s), digest(b1));
                }
                assertTrue(r0.nodeFetcher().filesKept() <= 3, "step " + s + ": " + r0.nodeFetcher().filesKept() + " files kept");
            }
            assertEquals(3, files(".step"), "the last 3 steps wait for local rank 2");
        }
        assertEquals(0, files(".step"), "closing the fetcher removes its files");
    }

    @Test
    void aFetcherReplacedByANewOneRemovesNoneOfItsFiles() throws Exception {
        FileStore fs = stream(2);
        TgbEntry step0 = ManifestLog.open(fs, true).entry(0);
        NodeFetch nf = node(0, 2).withWaitMillis(0);
        NodeFetcher old = NodeFetcher.open(fs, nf, 0, W, 0, StreamEnv.defaults());
        old.publish(0, step0);
        // a new local rank 0 (a restarted process, a new iteration) takes over the node's directory
        NodeFetcher now = NodeFetcher.open(fs, nf, 0, W, 0, StreamEnv.defaults());
        now.publish(0, step0);
        old.close();
        assertEquals(1, files(".step"), "the old fetcher removed only what is still its own");
        assertEquals(1, files(".ctl"));
        try (NodeSlices rank1 = new NodeSlices(fs.describe(), node(1, 2), 0, W, Clock.system());
             NodeSlice slice = rank1.acquire(0, step0, 1)) {
            assertEquals(step0.shards().get(1).length(), slice.data().byteSize(), "served from the new fetcher's copy");
        }
        now.close();
        assertEquals(0, files(".step"));
        assertEquals(0, files(".ctl"));
    }

    @Test
    void aFetcherKilledWithSigkillLeavesTheRanksToTheirOwnReadsOrATypedError() throws Exception {
        long steps = 8;
        FileStore fs = stream(steps);
        List<List<String>> expected = expected(fs);
        Path gate = dir.resolve("gate");
        Path logs = dir.resolve("logs");
        Files.createDirectories(logs);
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), NodeFetchChild.class.getName(), dir.resolve("s").toString(),
                dir.resolve("shm").toString(), "test", Integer.toString(W), "2")
                .redirectOutput(logs.resolve("child.out").toFile()).redirectError(logs.resolve("child.err").toFile());
        // the fetcher publishes steps 0-2, then stalls before publishing step 3 until it is killed
        pb.environment().put(FailPoints.ENV, NodeFetcher.BEFORE_PUBLISH + "=await:" + gate + "@4");
        Process child = pb.start();
        try {
            Path reached = Path.of(gate + ".reached");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(reached)) {
                assertTrue(child.isAlive(), () -> "the fetcher exited: " + read(logs.resolve("child.err")));
                assertTrue(System.nanoTime() < deadline, "the fetcher did not reach step 3");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            // local rank 1, twice: one falls back, one fails; a 60 s wait bound, so only the death ends the wait early
            try (RankReader lenient = open(fs, 1, node(1, 2).withWaitMillis(60_000), StreamEnv.defaults(), 4);
                 RankReader strict = open(fs, 1, node(1, 2).withWaitMillis(60_000).withFallback(false), StreamEnv.defaults(), 4)) {
                List<String> got = new ArrayList<>();
                for (int s = 0; s < 3; s++) {
                    try (StepBatch a = lenient.next(30_000); StepBatch b = strict.next(30_000)) {
                        assertTrue(a.fromNodeCopy() && b.fromNodeCopy(), "step " + s + " comes from the fetcher's copy");
                        got.add(digest(a));
                        assertEquals(digest(a), digest(b));
                    }
                }
                child.destroyForcibly(); // SIGKILL: no shutdown hook, no close, its files stay behind
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
                assertEquals(137, child.exitValue(), "killed by SIGKILL");
                long t0 = System.nanoTime();
                got.addAll(readFrom(lenient, 3));
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(expected.get(1), got, "every step: the independent read's bytes");
                assertEquals(3, lenient.nodeServed());
                assertEquals(steps - 3, lenient.nodeFallbacks(), "steps 3-7 read by the rank itself");
                assertTrue(tookMs < 30_000, "the fetcher's death, not the 60 s bound, ended the wait (" + tookMs + " ms)");
                NodeFetchFailedException e = assertThrows(NodeFetchFailedException.class, () -> strict.next(30_000));
                assertEquals(3, e.step());
                assertTrue(e.getMessage().contains("(process " + child.pid() + ") died"), e.getMessage());
            }
        } finally {
            child.destroyForcibly();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
