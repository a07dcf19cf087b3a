package io.lakestream.store.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FallbackSwitchTest {

    @Test
    void turnsOffAtTheThresholdAndReportsItOnce() {
        FallbackSwitch s = new FallbackSwitch(3);
        assertFalse(s.failed());
        assertFalse(s.failed());
        assertTrue(s.on(), "two failures in a row are below the threshold");
        assertTrue(s.failed(), "the third one switches off");
        assertFalse(s.on());
        assertFalse(s.failed(), "already off: not reported again");
        assertFalse(s.on());
    }

    @Test
    void aSuccessResetsTheFailuresInARow() {
        FallbackSwitch s = new FallbackSwitch(3);
        s.failed();
        s.failed();
        s.succeeded();
        assertEquals(0, s.failuresInARow());
        assertFalse(s.failed());
        assertFalse(s.failed());
        assertTrue(s.on(), "2 + 2 failures with a success between are not 3 in a row");
        assertTrue(s.failed());
        assertFalse(s.on());
    }

    @Test
    void aSuccessDoesNotTurnItBackOn() {
        FallbackSwitch s = new FallbackSwitch(1);
        assertTrue(s.failed());
        s.succeeded(); // a read that started before the switch and finished after it
        assertFalse(s.on());
    }

    @Test
    void rejectsAThresholdBelowOne() {
        assertThrows(IllegalArgumentException.class, () -> new FallbackSwitch(0));
    }

    @Test
    void concurrentFailuresAreEachCountedOnceBelowTheThreshold() throws Exception {
        int threads = 8;
        int each = 20_000;
        FallbackSwitch s = new FallbackSwitch(threads * each + 1);
        assertEquals(0, reportsFrom(s, threads, each));
        assertEquals(threads * each, s.failuresInARow(), "no failure lost or counted twice");
        assertTrue(s.on());
        assertTrue(s.failed(), "the one failure more reaches the threshold");
    }

    @Test
    void exactlyOneOfManyConcurrentFailuresReportsTheSwitchOver() throws Exception {
        for (int round = 0; round < 50; round++) {
            int threads = 8;
            FallbackSwitch s = new FallbackSwitch(4);
            assertEquals(1, reportsFrom(s, threads, 3), "round " + round);
            assertFalse(s.on());
            assertEquals(threads * 3, s.failuresInARow());
        }
    }

    /** {@code threads} threads released together each report {@code each} failures; how many calls said "switched off". */
    private static int reportsFrom(FallbackSwitch s, int threads, int each) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<Integer>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> {
                    start.await();
                    int reports = 0;
                    for (int i = 0; i < each; i++) {
                        reports += s.failed() ? 1 : 0;
                    }
                    return reports;
                }));
            }
            int reports = 0;
            for (Future<Integer> f : fs) {
                reports += f.get(30, TimeUnit.SECONDS);
            }
            return reports;
        } finally {
            pool.shutdownNow();
        }
    }
}
