package io.lakestream.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.Streams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log's GC at its edges: a log file exactly as old as the log grace is kept (only older ones
 * go), and with exactly two snapshots the versions below the older one are reclaimed.
 */
class LogGcGraceTest {
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void aLogFileExactlyAsOldAsTheGraceIsKeptAndOneMillisecondOlderIsReclaimed() throws Exception {
        Path root = dir.resolve("s");
        ObjectStore fs = FileStore.open(root, true);
        // one step per version, snapshots every 4 versions
        try (TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(1).withSnapshotInterval(4),
                Streams.opts().withGroup(1, 1, false).withWriteParallelism(0))) {
            Streams.produceWith(p, 1, 1, new SyntheticSource(10, 4, 0, 1, 8), -1);
        }
        List<Long> snapshots = new ArrayList<>();
        long versionsBelowOlder = 0;
        for (ObjectInfo o : fs.list(StreamLayout.LOG_PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Snapshot sn) {
                snapshots.add(sn.version());
            }
        }
        assertEquals(2, snapshots.size(), "the setup writes exactly two snapshots: " + snapshots);
        for (ObjectInfo o : fs.list(StreamLayout.LOG_PREFIX, null, Integer.MAX_VALUE)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Version v && v.version() < snapshots.get(0)) {
                versionsBelowOlder++;
            }
        }
        assertEquals(snapshots.get(0).longValue(), versionsBelowOlder);
        try (Stream<Path> files = Files.walk(root.resolve("_log"))) { // every log file written at T0
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.setLastModifiedTime(f, FileTime.fromMillis(T0));
            }
        }
        ManualClock clock = new ManualClock(T0);
        ManifestLog log = ManifestLog.open(fs, StreamEnv.defaults().withClock(clock));
        long grace = log.config().logGraceMs();
        clock.advance(grace);
        assertEquals(0, new LogGc(log, 0).run(true, new ArrayList<>()).objects(), "exactly the grace old: kept");
        clock.advance(1);
        assertEquals(versionsBelowOlder, new LogGc(log, 0).run(true, new ArrayList<>()).objects(),
                "one millisecond older: every version below the older of the two snapshots");
    }
}
