package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The DAC controller's decisions, on made-up observations (no clocks, no threads). */
class CommitPacerTest {
    private static final long MS = 1_000_000L;

    @Test
    void raceslostToBatchesGrowTheGroupAndItShrinksFastOnceTheyStop() {
        CommitPacer p = new CommitPacer(1, 64, true, 5);
        long t = 0;
        for (int i = 0; i < 10; i++) {
            p.onCommit(1, 2 * MS, t += 3 * MS);
        }
        assertEquals(64, p.group(), "doubling per conflicted commit, capped");
        int commits = 0;
        while (p.group() > 1) {
            p.onCommit(0, 2 * MS, t += 3 * MS);
            commits++;
        }
        // the conflict rate decays below CALM in ~4 clean commits, then halving: 64 -> 1 in 6 more
        assertTrue(commits <= 12, "back to one batch per commit within " + commits + " clean commits");
        assertTrue(commits > 1, "one clean commit after sustained contention is not enough to drop it all");
    }

    @Test
    void aGroupNeverWaitsPastTheLingerBound() {
        CommitPacer p = new CommitPacer(8, 64, true, 5);
        long oldest = 100 * MS;
        assertFalse(p.due(3, oldest, oldest + 4 * MS), "3 of 8 ready, 4 ms old: keep gathering");
        assertTrue(p.due(3, oldest, oldest + 5 * MS), "the linger bound commits what is there");
        assertTrue(p.due(8, oldest, oldest), "a full group goes at once");
        assertFalse(p.due(0, oldest, oldest + 50 * MS), "nothing written: nothing to commit");
        assertEquals(oldest + 5 * MS, p.wakeAt(oldest));
    }

    @Test
    void theDefaultLingerBoundIsTwoCommitLatenciesAndAtLeastFiveMilliseconds() {
        CommitPacer p = new CommitPacer(8, 64, true, ProducerOptions.AUTO_LINGER);
        assertEquals(5 * MS, p.lingerNanos(), "before any commit: the floor");
        p.onCommit(0, MS, 10 * MS); // a local disk: 1 ms commits
        assertEquals(5 * MS, p.lingerNanos(), "the floor, not 2 ms");
        CommitPacer s3 = new CommitPacer(8, 64, true, ProducerOptions.AUTO_LINGER);
        s3.onCommit(0, 120 * MS, 200 * MS); // an object store: 120 ms commits
        assertEquals(240 * MS, s3.lingerNanos());
        long oldest = 300 * MS;
        // batches written 35 ms apart (one writer on S3) gather into a group instead of leaving one by one
        assertFalse(s3.due(3, oldest, oldest + 105 * MS), "3 of 8 ready after 105 ms: keep gathering");
        assertTrue(s3.due(3, oldest, oldest + 240 * MS), "two commit latencies: commit what is there");
        assertEquals(-1, new CommitPacer(8, 64, true, -1).lingerNanos(), "negative: no bound");
        assertEquals(7 * MS, new CommitPacer(8, 64, true, 7).lingerNanos(), "a configured bound is kept");
        CommitPacer now = new CommitPacer(8, 64, true, 0);
        assertEquals(0, now.lingerNanos(), "0: no lingering at all, not no bound");
        assertTrue(now.due(1, 50 * MS, 50 * MS), "a lone batch goes the moment it is written");
    }

    @Test
    void commitsAreSpacedByTheGroupTimesTheCommitLatency() {
        CommitPacer p = new CommitPacer(1, 64, true, 1000);
        p.onCommit(1, 4 * MS, 10 * MS); // latency 4 ms, conflict: group 2
        p.onCommit(1, 4 * MS, 20 * MS); // group 4
        assertEquals(4, p.group());
        // (4 - 1) x 4 ms after the last commit ended, well before the 1 s linger bound
        assertEquals(20 * MS + 12 * MS, p.wakeAt(15 * MS));
        assertTrue(p.due(1, 15 * MS, 32 * MS));
        assertFalse(p.due(1, 15 * MS, 31 * MS));
    }

    @Test
    void checkpointAndGcRacesAreNotContentionAndAFixedGroupIgnoresEverything() {
        CommitPacer dac = new CommitPacer(1, 64, true, 5);
        for (int i = 0; i < 5; i++) {
            dac.onCommit(0, MS, i * MS); // lost races to checkpoints are reported as 0 batch conflicts
        }
        assertEquals(1, dac.group());
        CommitPacer fixed = new CommitPacer(4, 4, false, 5);
        fixed.onCommit(3, MS, MS);
        assertEquals(4, fixed.group());
        assertEquals(Long.MAX_VALUE, fixed.wakeAt(0), "no linger for a fixed group: it commits when full or flushed");
        assertFalse(fixed.due(3, 0, Long.MAX_VALUE / 2));
        assertTrue(fixed.due(4, 0, 0));
    }
}
