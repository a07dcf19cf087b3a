package io.lakestream.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.TgbEntry;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * One run of the threaded producer's hand-off from the accumulator to the writers and the
 * committer, on the real classes ({@link TgbProducer} and its {@code BatchQueue}, {@code BatchWriter},
 * {@code Committer}, {@code CommitterRunner}, {@code AppendGate}): P producers on their own
 * threads append, each with its writer pool and committer worker, while fail points shift the
 * threads against each other (a short stall of a writer after its object write, of a committer
 * before or after its version put or after a commit) and each producer ends one of three ways -
 * {@code commit()} then close, close with batches still queued (close racing the committer), or an
 * injected failure that ends the instance. Then each producer is reopened and resumes from its
 * committed cursor.
 *
 * <p>{@link #check} states the hand-off's invariants on the log after each phase: a producer's
 * batches are committed in sequence order, each once, with no gap, each the batch appended under
 * that sequence (its cursor and its object, whole); what a closed producer says it committed is
 * what the log has (close never half-commits); after the resume every batch is there exactly once.
 * The random choices come from {@code seed} alone, so a failure names the seed that shows it
 * (the interleaving itself is the scheduler's, which is what is being explored: the JVM's in
 * {@code ProducerHandOffStressTest}, Fray's in the {@code fray-tests} module).
 */
public final class ProducerHandOffScenario {
    public static final int W = 2;

    /** How a producer ends its racing phase. */
    public enum End { COMMIT_THEN_CLOSE, CLOSE_WITH_BATCHES_QUEUED, INJECTED_FAILURE }

    /** The points where a stall or a failure is injected, in the order the hand-off passes them. */
    static final List<String> POINTS = List.of(FailPoints.AFTER_OBJECT_WRITE, FailPoints.BEFORE_VERSION_PUT,
            FailPoints.AFTER_VERSION_PUT, FailPoints.AFTER_COMMIT);

    public final long seed;
    public final int producers;
    public final int batches;
    private final End[] ends;
    private final ProducerOptions[] options;
    private final FailPoints[] failPoints;
    /** For an injected failure: where and on which hit. */
    private final String[] failAt;

    /**
     * Every producer with {@code writers} writer threads and groups of {@code group}, ending by
     * {@code end} (not an injected failure), no stalls: for a scheduler that picks the
     * interleavings itself.
     */
    public ProducerHandOffScenario(int producers, int batches, End end, int writers, int group) {
        if (end == End.INJECTED_FAILURE) {
            throw new IllegalArgumentException("a fixed scenario injects no failure");
        }
        this.seed = 0;
        this.producers = producers;
        this.batches = batches;
        ends = new End[producers];
        options = new ProducerOptions[producers];
        failPoints = new FailPoints[producers];
        failAt = new String[producers];
        for (int k = 0; k < producers; k++) {
            ends[k] = end;
            options[k] = ProducerOptions.defaults().withWriteParallelism(writers).withGroup(group, 8, false).withMaxLinger(0);
            failPoints[k] = new FailPoints();
        }
    }

    /** Everything drawn from {@code seed}: producers, batches, writers, groups, how each ends, stalls and failures. */
    public ProducerHandOffScenario(long seed) {
        this.seed = seed;
        Random r = new Random(seed);
        producers = 1 + r.nextInt(2);
        batches = 2 + r.nextInt(7);
        ends = new End[producers];
        options = new ProducerOptions[producers];
        failPoints = new FailPoints[producers];
        failAt = new String[producers];
        for (int k = 0; k < producers; k++) {
            ends[k] = End.values()[r.nextInt(End.values().length)];
            int parallelism = 1 + r.nextInt(3);
            int group = 1 + r.nextInt(4);
            options[k] = ProducerOptions.defaults().withWriteParallelism(parallelism).withGroup(group, 8, r.nextBoolean())
                    .withMaxLinger(r.nextInt(3));
            FailPoints f = new FailPoints();
            // one or two stalls of 0-2 ms at random points and hits: they move a writer or the
            // committer against the appending thread and the other producer
            for (int i = 1 + r.nextInt(2); i > 0; i--) {
                f.set(POINTS.get(r.nextInt(POINTS.size())), new FailPoints.Sleep(r.nextInt(3)), 1 + r.nextInt(batches));
            }
            if (ends[k] == End.INJECTED_FAILURE) {
                failAt[k] = POINTS.get(r.nextInt(POINTS.size())) + "@" + (1 + r.nextInt(batches));
                int at = failAt[k].indexOf('@');
                f.set(failAt[k].substring(0, at), new FailPoints.Throw(), Integer.parseInt(failAt[k].substring(at + 1)));
            }
            failPoints[k] = f;
        }
    }

    public End end(int k) {
        return ends[k];
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("seed " + seed + ": " + producers + " producer(s) x " + batches + " batches");
        for (int k = 0; k < producers; k++) {
            b.append("; p").append(k).append(' ').append(ends[k]).append(failAt[k] == null ? "" : " at " + failAt[k])
                    .append(" writers=").append(options[k].writeParallelism()).append(" group=").append(options[k].initialGroup())
                    .append(options[k].adaptive() ? " adaptive" : " fixed").append(" linger=").append(options[k].maxLingerMillis())
                    .append(" points=").append(failPoints[k]);
        }
        return b.toString();
    }

    public static String id(int k) {
        return "p" + k;
    }

    public SyntheticSource source(int k) {
        return new SyntheticSource((long) producers * batches * W, 7, k, producers, 4);
    }

    /** The cursor after the producer's {@code seq}-th batch (1-based): batches are cut the same way on every run. */
    public String cursorAfter(int k, long seq) {
        SyntheticSource src = source(k);
        long next = src.startIndex();
        for (long s = 0; s < seq; s++) {
            long[] ids = src.take(next, W);
            next = src.after(ids[ids.length - 1]);
        }
        return SyntheticSource.cursor(next);
    }

    public static StreamConfig config() {
        return StreamConfig.of(W);
    }

    /**
     * Appends from the committed cursor to the end of the source, or {@code limit} batches;
     * returns how many were appended.
     */
    public static long appendFromCursor(TgbProducer p, SyntheticSource src, long limit) {
        long resume = SyntheticSource.parseCursor(p.committedCursor());
        long next = resume < 0 ? src.startIndex() : resume;
        long n = 0;
        while (n < limit) {
            long[] ids = src.take(next, W);
            if (ids.length == 0) {
                break;
            }
            next = src.after(ids[ids.length - 1]);
            p.append(src.globalBatch(ids, W), SyntheticSource.cursor(next));
            n++;
        }
        return n;
    }

    /** What producer {@code k} did in the racing phase, for {@link #check}. */
    public record Outcome(long appended, long committedSeqSaid, RuntimeException failure) {}

    /** The racing phase of producer {@code k}, on the calling thread. */
    public Outcome race(ObjectStore store, int k) {
        StreamEnv env = StreamEnv.defaults().withFailPoints(failPoints[k]).withRandom(new SplittableRandom(seed * 31 + k));
        TgbProducer p;
        try {
            p = TgbProducer.open(store, id(k), config(), options[k], env); // its epoch claim passes the log's points too
        } catch (RuntimeException e) {
            if (ends[k] != End.INJECTED_FAILURE) {
                throw e;
            }
            return new Outcome(0, 0, e);
        }
        long appended = 0;
        RuntimeException failure = null;
        try {
            SyntheticSource src = source(k);
            long next = src.startIndex();
            for (int i = 0; i < batches; i++) {
                long[] ids = src.take(next, W);
                next = src.after(ids[ids.length - 1]);
                p.append(src.globalBatch(ids, W), SyntheticSource.cursor(next));
                appended++;
            }
            if (ends[k] != End.CLOSE_WITH_BATCHES_QUEUED) {
                p.commit();
            }
        } catch (RuntimeException e) {
            if (ends[k] != End.INJECTED_FAILURE) {
                throw e;
            }
            failure = e;
        } finally {
            p.close();
        }
        return new Outcome(appended, p.committedSeq(), failure);
    }

    /** The resume: a new instance goes on from the committed cursor to the end of the source. */
    public void resume(ObjectStore store, int k) {
        try (TgbProducer p = TgbProducer.open(store, id(k), config(), options[k])) {
            appendFromCursor(p, source(k), Long.MAX_VALUE);
            p.commit();
        }
    }

    /**
     * After the racing phase: each producer's committed batches pass {@link #check}, and what it
     * said it committed fits how it ended.
     */
    public void checkAfterRace(ObjectStore store, List<Outcome> outcomes) {
        Map<String, List<TgbEntry>> committed = committedByProducer(store);
        for (int k = 0; k < producers; k++) {
            Outcome o = outcomes.get(k);
            long n = check(store, k, committed);
            String where = this + ": " + id(k) + " appended " + o.appended() + ", said it committed " + o.committedSeqSaid()
                    + ", the log has " + n + (o.failure() == null ? "" : ", failed with " + o.failure());
            assertTrue(n <= o.appended(), where);
            if (o.failure() != null) {
                assertTrue(causedByInjection(o.failure()), "only the injected failure may end an instance: " + where);
                // a version whose answer was lost (or committed before the failure surfaced) is
                // in the log and not yet known to the instance: it may say less, never more
                assertTrue(o.committedSeqSaid() <= n, where);
            } else if (ends[k] == End.CLOSE_WITH_BATCHES_QUEUED) {
                // close lets a commit in progress finish, and the producer then says what it committed
                assertEquals(n, o.committedSeqSaid(), "close never half-commits: " + where);
            } else {
                // commit(), or a failure point that was not reached before commit() finished
                assertEquals(o.appended(), n, "commit() returned with batches not committed: " + where);
                assertEquals(n, o.committedSeqSaid(), where);
            }
        }
    }

    /** After every producer resumed: every batch committed once, and every record read back once on every rank. */
    public void checkAfterResume(ObjectStore store) {
        Map<String, List<TgbEntry>> committed = committedByProducer(store);
        for (int k = 0; k < producers; k++) {
            assertEquals(batches, check(store, k, committed), this + ": after the resume " + id(k) + " has every batch once");
        }
        Streams.assertExactlyOnce(Streams.readAll(store, W), Streams.range((long) producers * batches * W));
    }

    private static boolean causedByInjection(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof FailPoints.InjectedFailure) {
                return true;
            }
        }
        return false;
    }

    /** The committed batches of each producer, in step order. */
    public static Map<String, List<TgbEntry>> committedByProducer(ObjectStore store) {
        ManifestLog log = ManifestLog.open(store, true);
        ManifestState s = log.refresh();
        Map<String, List<TgbEntry>> out = new HashMap<>();
        for (long step = 0; step < s.committedSteps(); step++) {
            TgbEntry e = log.entry(step);
            out.computeIfAbsent(e.producer(), x -> new ArrayList<>()).add(e);
        }
        return out;
    }

    /**
     * The hand-off's invariants for producer {@code k}: its committed batches are its sequences
     * 1..n in step order (no gap, no duplicate), each the batch appended under that sequence and
     * whole in the store, and the log's producer state names the last of them. Returns n.
     */
    public long check(ObjectStore store, int k, Map<String, List<TgbEntry>> committed) {
        List<TgbEntry> mine = committed.getOrDefault(id(k), List.of());
        for (int i = 0; i < mine.size(); i++) {
            TgbEntry e = mine.get(i);
            long seq = i + 1;
            if (e.seq() != seq) {
                throw new AssertionError(this + ": " + id(k) + "'s committed batch #" + seq + " has seq " + e.seq()
                        + " (a gap, a duplicate or out of order): " + seqs(mine));
            }
            if (!e.cursor().equals(cursorAfter(k, seq))) {
                throw new AssertionError(this + ": " + id(k) + " seq " + seq + " committed with cursor " + e.cursor()
                        + ", appended with " + cursorAfter(k, seq));
            }
            ObjectInfo info = store.stat(e.object()).orElseThrow(
                    () -> new AssertionError(this + ": " + id(k) + " seq " + seq + " committed, its object " + e.object() + " absent"));
            if (info.size() != e.objectSize()) {
                throw new AssertionError(this + ": " + id(k) + " seq " + seq + " object of " + info.size() + " bytes, entry says "
                        + e.objectSize());
            }
        }
        ProducerState st = ManifestLog.open(store, true).refresh().producer(id(k));
        long n = mine.size();
        if (st == null ? n != 0 : st.seq() != n) { // null: an injected failure stopped its epoch claim
            throw new AssertionError(this + ": the log's state of " + id(k) + " is " + st + ", its committed batches " + seqs(mine));
        }
        return n;
    }

    private static List<Long> seqs(List<TgbEntry> es) {
        List<Long> out = new ArrayList<>();
        for (TgbEntry e : es) {
            out.add(e.seq());
        }
        return out;
    }
}
