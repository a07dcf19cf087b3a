package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When the shared follower looks at the log next, on made-up observations. */
class FollowerPacingTest {
    private static final long MS = 1_000_000L;
    private static final long MIN = MS;
    private static final long MAX = 100 * MS;

    @Test
    void aRegularCadenceIsPolledNearTheNextVersionOnly() {
        FollowerPacing p = new FollowerPacing(0);
        long t = 0;
        for (int i = 0; i < 20; i++) {
            p.news(t += 40 * MS, 1); // a version every 40 ms
        }
        long wake = p.nextPoll(t, 50_000, MIN, MAX);
        assertTrue(wake >= t + 30 * MS, "skips most of the 40 ms gap: " + (wake - t) / MS + " ms");
        assertTrue(wake < t + 40 * MS, "but looks before the next version is due");
        // once inside the window, every gap/10 = 4 ms
        assertEquals(t + 39 * MS + 4 * MS, p.nextPoll(t + 39 * MS, 50_000, MIN, MAX));
    }

    @Test
    void irregularCommitsAreNotSkippedAndSeveralVersionsAtOnceDoNotStretchTheGap() {
        FollowerPacing p = new FollowerPacing(0);
        long t = 0;
        long[] gaps = {2, 70, 5, 60, 1, 90, 3, 50, 4, 80};
        for (long g : gaps) {
            p.news(t += g * MS, 1);
        }
        long wake = p.nextPoll(t, 50_000, MIN, MAX);
        assertTrue(wake - t <= 10 * MS, "irregular: poll soon, every few ms: " + (wake - t) / MS + " ms");
        FollowerPacing q = new FollowerPacing(0);
        for (int i = 1; i <= 10; i++) {
            q.news(i * 40 * MS, 4); // four versions per look, looks every 40 ms: a version every 10 ms
        }
        assertTrue(q.nextPoll(400 * MS, 50_000, MIN, MAX) <= 400 * MS + 10 * MS);
    }

    @Test
    void aSilentStreamIsPolledLessAndLessUpToTheCap() {
        FollowerPacing p = new FollowerPacing(0);
        p.news(40 * MS, 1);
        long t = 40 * MS + 2_000 * MS; // two seconds of silence
        long last = 0;
        for (int i = 0; i < 12; i++) {
            long wake = p.nextPoll(t, 50_000, MIN, MAX);
            assertTrue(wake - t >= last, "the interval grows");
            last = wake - t;
            t = wake;
        }
        assertEquals(MAX, last, "capped at maxPollMillis");
        p.news(t, 1);
        assertTrue(p.nextPoll(t, 50_000, MIN, MAX) - t <= 10 * MS, "news resets the backoff");
    }

    @Test
    void aSlowStoreIsNotPolledFasterThanItAnswers() {
        FollowerPacing p = new FollowerPacing(0);
        assertEquals(25 * MS, p.nextPoll(0, 25 * MS, MIN, MAX), "one GET's latency at least");
    }
}
