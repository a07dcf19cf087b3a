package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.log.Changes;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamLayout;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.source.SyntheticSource;
import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.FaultInjectingStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import io.lakestream.testkit.s3.EmbeddedS3Server;
import io.lakestream.testkit.s3.FaultyHttpProxy;
import io.lakestream.testkit.s3.S3TestServer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One retry layer, at the store boundary: a store that fails every call sees a bounded number of
 * attempts per operation, set by the configured budget ({@link RetryPolicy#maxAttempts()} for
 * {@code file://}, {@code max_attempts} for the S3 SDK), not a product of nested retry loops.
 * The counts are printed for the record.
 */
class RetryBudgetTest {
    static final int W = 2;
    static final int MAX_ATTEMPTS = 4;

    @TempDir
    Path dir;

    /** file:// with the layers of a real store: retry layer → (counted) wire → file store. */
    private record FileStack(FaultInjectingStore wire, CountingStore counted, ObjectStore store, StreamEnv env, ManualClock clock) {
        long attempts() {
            return counted.gets.get() + counted.lists.get() + counted.puts.get();
        }
    }

    private FileStack fileStack() {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        // the protocol's clock stands still (no staleness re-checks, no real waiting); the retry
        // layer's backoff runs on simulated time
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        StreamEnv env = StreamEnv.defaults().withClock(clock);
        Streams.produce(fs, "p", W, 1, new SyntheticSource(8, 1, 0, 1, 4), -1, Streams.opts(), env).close(); // 4 steps
        FaultInjectingStore wire = new FaultInjectingStore(fs, 1);
        CountingStore counted = new CountingStore(wire);
        ObjectStore store = new RetryingStore(counted, new RetryPolicy(MAX_ATTEMPTS, 1, 10), ManualClock.autoAdvancing(0));
        return new FileStack(wire, counted, store, env, clock);
    }

    private static Changes claim(ManifestState s) {
        ProducerState cur = s.producer("q");
        return new Changes(Map.of("q", new ProducerState(cur == null ? 1 : cur.epoch() + 1, 0, null)), List.of(), List.of());
    }

    @Test
    void aReaderRefreshOnAFailingFileStoreMakesMaxAttemptsAttempts() throws Exception {
        FileStack f = fileStack();
        ManifestLog log = ManifestLog.open(f.store(), true, f.env());
        f.wire().failBefore(1.0);
        f.counted().reset();
        assertThrows(StoreException.class, log::refresh);
        long refresh = f.attempts();
        f.wire().failBefore(0);

        // the same through a rank reader's dispatcher: waiting at the head, then the store dies
        try (RankReader r = RankReader.open(f.store(), 0, W, 4, ReaderOptions.defaults(), null, f.env())) {
            // No need to wait for the dispatcher to reach step 4: the protocol clock has not moved
            // since the follower's opening load, so it cannot have looked again (its next look is
            // the min poll interval after that load); the first look it makes is the one the
            // advance below allows, on the failing wire, whether the dispatcher waits yet or not.
            f.wire().failBefore(1.0);
            f.counted().reset();
            f.clock().advance(1_000); // its next poll
            StoreException e = assertThrows(StoreException.class, () -> r.next(60_000));
            assertTrue(e.getMessage().contains("injected fault"), e.getMessage());
        }
        long reader = f.attempts();
        System.out.printf("retry budget, file:// (max %d attempts): one reader refresh made %d store attempts, a rank reader's"
                + " failing poll %d%n", MAX_ATTEMPTS, refresh, reader);
        assertEquals(MAX_ATTEMPTS, refresh, "one GET of the next version, retried by the store layer only");
        assertEquals(MAX_ATTEMPTS, reader, "the reader adds no retries of its own");
    }

    @Test
    void aCommitOnAFailingFileStoreStaysWithinItsBudget() {
        FileStack f = fileStack();
        ManifestLog log = ManifestLog.open(f.store(), f.env());

        f.wire().failBefore(1.0);
        f.counted().reset();
        assertThrows(StoreException.class, () -> log.commit("q", RetryBudgetTest::claim));
        long allFail = f.attempts();

        // only conditional writes fail: the commit settles its write by reading it back, writes the
        // same bytes once more, and then reports that it cannot know the outcome
        f.wire().failBefore(1.0).failBeforeOn("putIfAbsent");
        f.counted().reset();
        CommitStateUnknownException unknown = assertThrows(CommitStateUnknownException.class,
                () -> log.commit("q", RetryBudgetTest::claim));
        assertEquals(StreamLayout.versionKey(log.state().version() + 1), unknown.key(), "names the version in doubt");
        long writes = f.counted().puts.get();
        long reads = f.counted().gets.get() + f.counted().lists.get();
        System.out.printf("retry budget, file:// (max %d attempts): one commit made %d store attempts when every call"
                + " failed; %d conditional writes + %d reads when only writes failed%n", MAX_ATTEMPTS, allFail, writes, reads);
        assertEquals(MAX_ATTEMPTS, allFail, "the refresh before the write fails: nothing else is tried");
        assertEquals(2L * MAX_ATTEMPTS, writes, "the write and one rewrite of the same bytes, each retried by the store layer");
        assertEquals(3, reads, "the refresh and one read-back per write");
    }

    /** s3:// through a proxy that answers every matching request 503 SlowDown: counts HTTP requests. */
    @Test
    void aReaderRefreshAndACommitOnAFailingS3StoreStayWithinMaxAttempts() throws Exception {
        EmbeddedS3Server srv = S3TestServer.server();
        String bucket = S3TestServer.newBucket("retry-budget");
        try (FaultyHttpProxy proxy = new FaultyHttpProxy(srv.endpoint())) {
            String uri = srv.streamUri(bucket, "stream").replace("endpoint=" + srv.endpoint(), "endpoint=" + proxy.endpoint())
                    + "&max_attempts=" + MAX_ATTEMPTS;
            try (ObjectStore store = ObjectStores.open(uri, true)) {
                ManualClock clock = new ManualClock(System.currentTimeMillis());
                StreamEnv env = StreamEnv.defaults().withClock(clock);
                Streams.produce(store, "p", W, 1, new SyntheticSource(8, 1, 0, 1, 4), -1, Streams.opts(), env).close();
                ManifestLog reader = ManifestLog.open(store, true, env);
                ManifestLog writer = ManifestLog.open(store, env);

                long refresh = failing(proxy, h -> true, () -> assertThrows(StoreException.class, reader::refresh));
                long allFail = failing(proxy, h -> true,
                        () -> assertThrows(StoreException.class, () -> writer.commit("q", RetryBudgetTest::claim)));
                long puts = failing(proxy, h -> h.startsWith("PUT "),
                        () -> assertThrows(CommitStateUnknownException.class, () -> writer.commit("q", RetryBudgetTest::claim)));
                System.out.printf("retry budget, s3:// (max_attempts=%d): one reader refresh made %d HTTP requests; one commit"
                        + " %d when every request failed, %d conditional PUTs when only PUTs failed%n", MAX_ATTEMPTS, refresh, allFail,
                        puts);
                // The direct client (S3Store's fast path for GETs) sends the GET once; an answer other than
                // 200/206/404 hands the call to the SDK, whose max_attempts are the only retries.
                assertEquals(MAX_ATTEMPTS + 1, refresh, "one direct GET, then one SDK GET retried by the SDK only");
                assertEquals(MAX_ATTEMPTS + 1, allFail, "the refresh before the write fails (direct, then the SDK): nothing else is tried");
                assertEquals(2L * MAX_ATTEMPTS, puts, "the write and one rewrite of the same bytes, each retried by the SDK only");
            }
        }
    }

    /** Requests answered 503 while {@code body} runs. */
    private static long failing(FaultyHttpProxy proxy, Predicate<String> which, Runnable body) {
        long before = proxy.seen().stream().filter(s -> "slowdown".equals(s.fault())).count();
        proxy.slowDownWhen(which);
        try {
            body.run();
        } finally {
            proxy.slowDownWhen(h -> false);
        }
        return proxy.seen().stream().filter(s -> "slowdown".equals(s.fault())).count() - before;
    }
}
