package io.lakestream.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.format.Codec;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;

/** Shared test helpers: drive a synthetic producer, read every rank, check the invariants. */
public final class Streams {
    private Streams() {}

    /** What one rank saw at one step. */
    public record Seen(long step, int rank, String object, long[] ids, String sha256) {}

    /**
     * Produces from {@code src} with producer {@code id} the way the CLI does: resume at the
     * committed cursor, append batches of W×B, commit; at most {@code maxSteps} (-1 = all).
     */
    public static TgbProducer produce(ObjectStore store, String id, int w, int b, SyntheticSource src, long maxSteps,
                                      ProducerOptions opts) {
        return produce(store, id, w, b, src, maxSteps, opts, StreamEnv.defaults());
    }

    /** As {@link #produce(ObjectStore, String, int, int, SyntheticSource, long, ProducerOptions)} in {@code env}. */
    public static TgbProducer produce(ObjectStore store, String id, int w, int b, SyntheticSource src, long maxSteps,
                                      ProducerOptions opts, StreamEnv env) {
        TgbProducer p = TgbProducer.open(store, id, config(w), opts, env);
        produceWith(p, w, b, src, maxSteps);
        return p;
    }

    /** Log grace of the test streams: short, so tests exercise GC of log files and the followers' guard. */
    public static final long TEST_LOG_GRACE_MS = 4_000;

    /** The config the test streams are created with: small snapshot interval and index segments, short log grace. */
    public static StreamConfig config(int w) {
        return StreamConfig.of(w).withSnapshotInterval(8).withIndexSegmentSteps(16).withLogGraceMs(TEST_LOG_GRACE_MS);
    }

    public static void produceWith(TgbProducer p, int w, int b, SyntheticSource src, long maxSteps) {
        long resume = SyntheticSource.parseCursor(p.committedCursor());
        long next = resume < 0 ? src.startIndex() : resume;
        for (long s = 0; maxSteps < 0 || s < maxSteps; s++) {
            long[] ids = src.take(next, w * b);
            if (ids.length == 0) {
                break;
            }
            next = src.after(ids[ids.length - 1]);
            p.append(src.globalBatch(ids, w), SyntheticSource.cursor(next));
        }
        p.commit();
    }

    public static ProducerOptions opts() {
        return ProducerOptions.defaults();
    }

    public static ProducerOptions lz4() {
        return ProducerOptions.defaults().withCodec(Codec.LZ4);
    }

    /** Reads steps [from, to) of one rank. */
    public static List<Seen> readRank(ObjectStore store, int rank, int w, long from, long to) {
        List<Seen> out = new ArrayList<>();
        try (RankReader r = RankReader.open(store, rank, w, from, ReaderOptions.defaults())) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (long s = from; s < to; s++) {
                try (StepBatch b = r.next(30_000)) {
                    assertEquals(s, b.step(), "steps must arrive in order");
                    sha.reset();
                    sha.update(b.tensorBytes().asByteBuffer());
                    out.add(new Seen(b.step(), rank, b.object(), b.tensor("record_id").toLongArray(),
                            HexFormat.of().formatHex(sha.digest())));
                }
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** Reads every committed step on every rank. */
    public static List<List<Seen>> readAll(ObjectStore store, int w) {
        long steps = ManifestLog.open(store, true).state().committedSteps();
        List<List<Seen>> all = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            all.add(readRank(store, r, w, 0, steps));
        }
        return all;
    }

    /**
     * Asserts the product's invariants: steps 0..n-1 on every rank, the same batch object per
     * step on every rank, and every record id of {@code expectedIds} exactly once overall.
     */
    public static void assertExactlyOnce(List<List<Seen>> all, BitSet expectedIds) {
        long steps = all.get(0).size();
        BitSet seen = new BitSet();
        for (List<Seen> rank : all) {
            assertEquals(steps, rank.size(), "every rank sees the same number of steps");
            for (int i = 0; i < rank.size(); i++) {
                Seen s = rank.get(i);
                assertEquals(i, s.step(), "gap-free steps");
                assertEquals(all.get(0).get(i).object(), s.object(), "same step->batch mapping on every rank at step " + i);
                for (long id : s.ids()) {
                    assertTrue(expectedIds.get((int) id), "record " + id + " was never produced");
                    assertTrue(!seen.get((int) id), "record " + id + " delivered twice (step " + s.step() + ", rank " + s.rank() + ")");
                    seen.set((int) id);
                }
            }
        }
        BitSet missing = (BitSet) expectedIds.clone();
        missing.andNot(seen);
        assertTrue(missing.isEmpty(), "records never delivered: " + missing.cardinality() + " e.g. " + missing.nextSetBit(0));
    }

    /** A body run by one thread per index; throwing is allowed. */
    @FunctionalInterface
    public interface IndexedBody {
        void run(int index) throws Exception;
    }

    /** Runs {@code body(0..n-1)} on n threads at once, joins them, and fails with the first error. */
    public static void concurrently(int n, IndexedBody body) throws InterruptedException {
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final int index = i;
            Thread t = new Thread(() -> {
                try {
                    body.run(index);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "test-worker-" + i);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!errors.isEmpty()) {
            throw new AssertionError("a worker failed: " + errors.peek(), errors.peek());
        }
    }

    public static BitSet range(long n) {
        BitSet b = new BitSet();
        b.set(0, (int) n);
        return b;
    }
}
