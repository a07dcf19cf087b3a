package io.lakestream.cli;

import io.lakestream.log.StreamLayout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testing.Cli;
import io.lakestream.testkit.Streams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real producer processes, really killed (SIGKILL) or halted at a fail point. */
class ProcessCrashTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private String[] produceArgs(String uri, int k, int of, long records) {
        return new String[] {"produce", "--stream", uri, "--producer", "p" + k, "--world-size", Integer.toString(W),
                "--micro-batch", "2", "--seq-len", "64", "--source",
                "synthetic:records=" + records + ",seed=3,partition=" + k + "/" + of};
    }

    @Test
    void producerProcessesSigkilledAtRandomMomentsAndRestartedDeliverExactlyOnce() throws Exception {
        Path streamDir = dir.resolve("s");
        String uri = "file://" + streamDir;
        int producers = 3;
        long records = 3000;
        Path logs = dir.resolve("logs");
        List<Process> procs = new ArrayList<>();
        for (int k = 0; k < producers; k++) {
            procs.add(Cli.start(logs, "p" + k, Map.of(), produceArgs(uri, k, producers, records)));
        }
        Random rnd = new Random(1234);
        int kills = 0;
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            boolean anyAlive = procs.stream().anyMatch(Process::isAlive);
            if (!anyAlive) {
                break;
            }
            Thread.sleep(150 + rnd.nextInt(500));
            if (kills < 8) {
                int k = rnd.nextInt(producers);
                Process p = procs.get(k);
                if (p.isAlive()) {
                    p.destroyForcibly(); // SIGKILL
                    p.waitFor();
                    kills++;
                    procs.set(k, Cli.start(logs, "p" + k, Map.of(), produceArgs(uri, k, producers, records)));
                }
            }
        }
        for (int k = 0; k < producers; k++) {
            assertEquals(0, Cli.waitFor(procs.get(k), 120), "producer p" + k + ": " + Cli.read(logs, "p" + k + ".err"));
        }
        assertTrue(kills > 0, "at least one producer was killed");
        try (ObjectStore fs = FileStore.open(streamDir, false)) {
            Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(records));
        }
    }

    @Test
    void producerHaltedAtEachProtocolPointResumesExactlyOnce() throws Exception {
        String[] points = {FailPoints.AFTER_OBJECT_WRITE, FailPoints.BEFORE_VERSION_PUT, FailPoints.AFTER_VERSION_PUT,
                FailPoints.AFTER_COMMIT};
        Path logs = dir.resolve("logs");
        long records = 40;
        for (String point : points) {
            Path streamDir = dir.resolve(point);
            String uri = "file://" + streamDir;
            // one batch per commit: the third hit of every point comes, however the writes and the
            // committer interleave (an adaptive group may take all ten batches in one commit)
            String[] oneByOne = java.util.stream.Stream.concat(java.util.Arrays.stream(produceArgs(uri, 0, 1, records)),
                    java.util.stream.Stream.of("--group", "1", "--fixed-group")).toArray(String[]::new);
            Process crashing = Cli.start(logs, point, Map.of("LAKESTREAM_FAILPOINTS", point + "=halt@3"), oneByOne);
            assertEquals(137, Cli.waitFor(crashing, 60), point + " halts the process: " + Cli.read(logs, point + ".err"));
            Process restarted = Cli.start(logs, point + "-again", Map.of(), produceArgs(uri, 0, 1, records));
            assertEquals(0, Cli.waitFor(restarted, 60), Cli.read(logs, point + "-again.err"));
            try (ObjectStore fs = FileStore.open(streamDir, false)) {
                Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(records));
                assertEquals(2, ManifestLog.open(fs).state().producer("p0").epoch(), "the restart claimed a new epoch");
            }
        }
    }

    @Test
    void pausedZombieProcessIsFencedAndExitsWithAClearMessage() throws Exception {
        Path streamDir = dir.resolve("s");
        String uri = "file://" + streamDir;
        Path logs = dir.resolve("logs");
        // The zombie writes its first batch object, then stalls (a long GC pause) before committing,
        // until the test creates the release file: after its replacement has finished, on any machine.
        Path release = dir.resolve("release-zombie");
        Process zombie = Cli.start(logs, "zombie", Map.of("LAKESTREAM_FAILPOINTS", FailPoints.AFTER_OBJECT_WRITE + "=await:" + release + "@1"),
                produceArgs(uri, 0, 1, 40));
        Path data = streamDir.resolve(StreamLayout.DATA_PREFIX + "p0");
        long until = System.currentTimeMillis() + 30_000;
        while (!(Files.isDirectory(data) && Files.list(data).findAny().isPresent()) && System.currentTimeMillis() < until) {
            Thread.sleep(20);
        }
        assertTrue(Files.isDirectory(data), "zombie wrote its object");
        Process replacement = Cli.start(logs, "replacement", Map.of(), produceArgs(uri, 0, 1, 40));
        assertEquals(0, Cli.waitFor(replacement, 60), Cli.read(logs, "replacement.err"));
        assertTrue(zombie.isAlive(), "the zombie is still stalled before its commit");
        Files.createFile(release);
        int rc = Cli.waitFor(zombie, 60);
        String err = Cli.read(logs, "zombie.err");
        assertEquals(Main.EXIT_FENCED, rc, err);
        assertTrue(err.contains("fenced"), err);
        try (ObjectStore fs = FileStore.open(streamDir, false)) {
            Streams.assertExactlyOnce(Streams.readAll(fs, W), Streams.range(40));
        }
    }
}
