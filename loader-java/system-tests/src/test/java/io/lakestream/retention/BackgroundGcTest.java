package io.lakestream.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamLayout;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background GC a producer runs ({@code gc_every_s}) and the totals of a GC report. */
class BackgroundGcTest {
    @TempDir
    Path dir;

    private static long sum(List<ObjectInfo> objects) {
        return objects.stream().mapToLong(ObjectInfo::size).sum();
    }

    @Test
    void eachIntervalOfTheInjectedClockRunsOnePassAndCountsWhatItReclaimed() throws Exception {
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", 2, 2, new SyntheticSource(80, 4, 0, 1, 8), -1, Streams.opts()).close(); // 20 steps
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 6, null);
        Checkpoints.record(log, 12, null); // keep 2: the floor is 6
        List<ObjectInfo> before = fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE);
        long reclaimable = GarbageCollector.reclaimableBytes(log);
        assertTrue(reclaimable > 0);

        ManualClock clock = new ManualClock(1_000_000L); // sleeps block until the test advances it
        try (BackgroundGc gc = new BackgroundGc(fs, 60_000, 3_600_000, StreamEnv.defaults().withClock(clock))) {
            clock.awaitSleeps(1, 60_000); // the pass waits for its first interval
            assertEquals(20, fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE).size(), "nothing before the interval");
            clock.advance(60_000);
            clock.awaitSleeps(2, 60_000); // one pass ran, the next waits
            assertEquals(6, gc.reclaimedObjects());
            assertEquals(reclaimable, gc.reclaimedBytes());
            assertEquals(14, fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE).size());
            clock.advance(60_000);
            clock.awaitSleeps(3, 60_000); // a second pass finds nothing more
            assertEquals(6, gc.reclaimedObjects());
        }
        assertEquals(sum(before) - reclaimable, sum(fs.list(StreamLayout.DATA_PREFIX, null, Integer.MAX_VALUE)));
    }

    @Test
    void aReportsTotalsAreTheSumOfItsKinds() {
        GcReport r = new GcReport(false, 6, 0, 3, 300, 5, 50, 7, 7000, List.of());
        assertEquals(3 + 5 + 7, r.objects());
        assertEquals(300 + 50 + 7000, r.bytes());
        assertTrue(r.toJson().contains("\"objects\":15,\"bytes\":7350"), r.toJson());
    }
}
