package io.lakestream.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.StreamConfig;
import io.lakestream.testkit.sim.S3Model;
import io.lakestream.testkit.sim.ScaleSim;
import io.lakestream.testkit.sim.SimStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The S3-model simulation behind {@code lakestream simulate}: small runs, seconds each. */
class ScaleSimTest {
    private static ScaleSim.Options small(int ranks, int producers, long steps) {
        return ScaleSim.Options.defaults(ranks, producers, steps).withIdleSeconds(2);
    }

    @Test
    void everyStepIsCommittedReadAndConsumedAndTheReportEndsWithTheIssueLine() {
        ScaleSim.Result r = ScaleSim.run(small(16, 3, 60));
        assertNull(r.failure(), () -> String.join("\n", r.lines()));
        assertEquals(60, r.committedSteps());
        // every node (2 of 8 ranks) read every step once (one ranged GET each; retries would only add)
        assertTrue(r.requests().get(SimStore.Op.RANGE) >= 60 * 2, r.requests().toString());
        assertTrue(r.versions() >= 1 && r.groupMax() >= 1);
        List<String> lines = r.lines();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.matches("max PUT/s per prefix = \\d+, max GET/s per prefix = \\d+, 503s = \\d+, \\$ per 1M steps = [0-9.]+"),
                last);
        assertTrue(r.logGetsPerIdleSecondPerFollower() > 0, "idle followers poll the log");
        assertTrue(r.costPerMillionSteps() > 0);
    }

    @Test
    void aSeedReplaysToTheSameMeasurements() {
        ScaleSim.Result a = ScaleSim.run(small(8, 2, 30).withSeed(7));
        ScaleSim.Result b = ScaleSim.run(small(8, 2, 30).withSeed(7));
        assertEquals(a.events(), b.events());
        assertEquals(a.requests(), b.requests());
        assertEquals(a.cost(), b.cost());
        // the report is the same but for the wall time
        assertEquals(a.lines().stream().filter(l -> !l.contains("wall")).toList(),
                b.lines().stream().filter(l -> !l.contains("wall")).toList());
    }

    @Test
    void requestsAboveThePrefixLimitGet503sThatTheRetryLayerAbsorbs() {
        // every rank reads every step from one producer's prefix: 32 GETs per step against 200/s
        ScaleSim.Result r = ScaleSim.run(small(32, 1, 40).withNodeFetch(false).withS3(S3Model.Config.defaults().withLimits(3500, 200)));
        assertNull(r.failure(), () -> String.join("\n", r.lines()));
        assertEquals(40, r.committedSteps());
        assertTrue(r.throttledGet() > 0, "the limit was exceeded: " + r.lines());
        assertTrue(r.getPeak().perSecond() > 200, "offered requests are counted, refused ones included");
    }

    @Test
    void theHashedLayoutSpreadsOneProducersBatchesOverManyPrefixes() {
        ScaleSim.Result plain = ScaleSim.run(small(64, 1, 80).withNodeFetch(false));
        ScaleSim.Result hashed = ScaleSim.run(small(64, 1, 80).withNodeFetch(false).withLayout(StreamConfig.LAYOUT_HASHED));
        assertEquals("data/p0/", plain.getPeak().prefix(), plain.lines().toString());
        assertTrue(hashed.prefixes() > plain.prefixes() + 30, hashed.prefixes() + " vs " + plain.prefixes());
        assertTrue(hashed.getPeak().perSecond() < plain.getPeak().perSecond(),
                hashed.getPeak() + " vs " + plain.getPeak());
    }

    @Test
    void oneFollowerPerJobReadsTheLogForEveryRankThroughTheRealFollowerAndHandOff() {
        java.util.Map<String, Long> logGets = new java.util.HashMap<>();
        for (String f : List.of(ScaleSim.Options.PER_RANK, ScaleSim.Options.PER_NODE, ScaleSim.Options.PER_JOB)) {
            ScaleSim.Result r = ScaleSim.run(small(32, 2, 40).withFollowers(f).withNodeFetch(false));
            assertNull(r.failure(), () -> String.join("\n", r.lines()));
            assertEquals(40, r.committedSteps());
            assertTrue(r.requests().get(SimStore.Op.RANGE) >= 40 * 32, "every rank read every step: " + r.requests());
            assertTrue(r.lines().get(0).contains(f.equals(ScaleSim.Options.PER_JOB) ? "one log follower per job"
                    : f.equals(ScaleSim.Options.PER_NODE) ? "one log follower per node (4)" : "32 followers"), r.lines().get(0));
            logGets.put(f, r.roles().get("follower")[0]);
        }
        // 32 followers, 4, 1: the log's GET load follows the follower count, not the ranks
        assertTrue(logGets.get(ScaleSim.Options.PER_RANK) > 8 * logGets.get(ScaleSim.Options.PER_JOB), logGets.toString());
        assertTrue(logGets.get(ScaleSim.Options.PER_NODE) > 2 * logGets.get(ScaleSim.Options.PER_JOB), logGets.toString());
    }

    @Test
    void oneRangedGetPerNodePerStepThroughTheRealNodeFetcher() {
        ScaleSim.Result on = ScaleSim.run(small(32, 2, 40)); // 4 nodes of 8 ranks
        ScaleSim.Result off = ScaleSim.run(small(32, 2, 40).withNodeFetch(false));
        for (ScaleSim.Result r : List.of(on, off)) {
            assertNull(r.failure(), () -> String.join("\n", r.lines()));
            assertEquals(40, r.committedSteps());
        }
        assertEquals(40 * 4, on.nodeFetchGets(), "one ranged GET per node per step: " + on.lines());
        long ranged = on.requests().get(SimStore.Op.RANGE); // store retries of a 503 would add, none expected here
        assertTrue(ranged >= 40 * 4 && ranged < 40 * 8, "data GETs per step = nodes, not ranks: " + ranged);
        assertEquals(0, on.nodeFallbacks());
        assertTrue(off.requests().get(SimStore.Op.RANGE) >= 40 * 32, "node fetch off: one per rank per step");
        double amplification = (double) on.nodeFetchBytes() / on.shardBytes();
        assertTrue(amplification >= 1.0 && amplification <= 1.01, "read amplification " + amplification);
        assertTrue(on.cost() < off.cost(), on.cost() + " vs " + off.cost());
    }
}
