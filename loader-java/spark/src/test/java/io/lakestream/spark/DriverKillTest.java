package io.lakestream.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.store.StreamNotFoundException;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Structured Streaming driver (a real child JVM running Spark local mode) killed with SIGKILL
 * in the middle of its query, then restarted from its checkpoint: every row once.
 */
class DriverKillTest {
    static final int FILES = 4;
    static final int ROWS_PER_FILE = 100;
    static final int SEQ_LEN = 8;

    @TempDir
    Path dir;

    /** JSON input: file f holds records f*100 .. f*100+99 (one micro-batch each). */
    static void writeInput(Path input, int files, int rowsPerFile, int seqLen) throws Exception {
        Files.createDirectories(input);
        for (int f = 0; f < files; f++) {
            StringBuilder b = new StringBuilder();
            for (long id = (long) f * rowsPerFile; id < (long) (f + 1) * rowsPerFile; id++) {
                b.append("{\"record_id\":").append(id).append(",\"tokens\":[");
                for (int j = 0; j < seqLen; j++) {
                    b.append(j == 0 ? "" : ",").append(SparkTests.token(id, j));
                }
                b.append("]}\n");
            }
            Path tmp = input.resolveSibling("part-" + f + ".tmp");
            Files.writeString(tmp, b);
            Files.move(tmp, input.resolve(String.format("part-%03d.json", f)));
        }
    }

    /** The child's command line: this module's test class path and Spark's JVM options. */
    static List<String> javaCommand(String mainClass, String... args) throws Exception {
        Path target = Path.of("target");
        String cp = target.resolve("test-classes") + File.pathSeparator + target.resolve("classes") + File.pathSeparator
                + Files.readString(target.resolve("test-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // what Spark's launcher gives its JVMs on JDK 17+ (the surefire argLine has the same)
        cmd.addAll(Arrays.asList(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray()));
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    static long committedSteps(String uri) {
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            return ManifestLog.open(store, true).state().committedSteps();
        } catch (StreamNotFoundException e) {
            return 0;
        }
    }

    @Test
    void aDriverKilledMidQueryAndRestartedWritesEveryRowOnce() throws Exception {
        Path input = dir.resolve("input");
        writeInput(input, FILES, ROWS_PER_FILE, SEQ_LEN);
        String uri = dir.resolve("stream").toUri().toString();
        String ckpt = dir.resolve("checkpoint").toString();
        long total = FILES * ROWS_PER_FILE / 4; // steps of 2 x 2 samples
        Path log1 = dir.resolve("run1.log");
        // slow commits (100 ms each), so the kill lands inside the query, not after it
        Process p1 = new ProcessBuilder(javaCommand(StreamingQueryMain.class.getName(), uri, input.toString(), ckpt, "q",
                String.valueOf(SEQ_LEN), FailPoints.AFTER_COMMIT + "=sleep:100"))
                .redirectErrorStream(true).redirectOutput(log1.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
        long atKill;
        try {
            while ((atKill = committedSteps(uri)) < total / FILES + 5) { // inside the second micro-batch
                assertTrue(p1.isAlive(), "the first driver exited before the kill:\n" + Files.readString(log1));
                assertTrue(System.nanoTime() < deadline, "no progress:\n" + Files.readString(log1));
                Thread.sleep(50); // polling the log: the condition, not a timing, decides
            }
        } finally {
            p1.destroyForcibly();
        } // SIGKILL: no shutdown hook, no finally, Spark's checkpoint as it was
        assertEquals(137, p1.waitFor(), "killed by SIGKILL");
        long left = committedSteps(uri); // exactly what the killed driver left committed
        assertTrue(left < total, "killed mid-query, at " + left + " of " + total + " steps");

        Path log2 = dir.resolve("run2.log");
        Process p2 = new ProcessBuilder(javaCommand(StreamingQueryMain.class.getName(), uri, input.toString(), ckpt, "q",
                String.valueOf(SEQ_LEN))).redirectErrorStream(true).redirectOutput(log2.toFile()).start();
        if (!p2.waitFor(600, TimeUnit.SECONDS)) {
            p2.destroyForcibly();
            throw new AssertionError("the restarted driver did not finish:\n" + Files.readString(log2));
        }
        assertEquals(0, p2.exitValue(), Files.readString(log2));
        assertTrue(Files.readString(log2).contains("query done: last batch " + (FILES - 1)), Files.readString(log2));

        try (ObjectStore store = ObjectStores.open(uri, false)) {
            assertEquals(total, ManifestLog.open(store, true).state().committedSteps());
            List<SparkTests.Sample> samples = SparkTests.readAll(store, 2);
            SparkTests.assertExactlyOnce(samples, 0, (long) FILES * ROWS_PER_FILE);
            // every step after what the killed driver left was committed by the restarted query's
            // task attempts: new epochs (each attempt claims one), never the killed driver's
            java.util.Set<String> killedAttempts = new java.util.HashSet<>();
            java.util.Set<String> restartedAttempts = new java.util.HashSet<>();
            for (SparkTests.Sample x : samples) {
                (x.step() < left ? killedAttempts : restartedAttempts).add(x.producer() + "@" + x.epoch());
            }
            assertTrue(!restartedAttempts.isEmpty(), "the restarted query committed the rest");
            restartedAttempts.retainAll(killedAttempts);
            assertTrue(restartedAttempts.isEmpty(), "steps after the kill committed by the killed driver's attempts " + restartedAttempts);
        }
    }
}
