package io.lakestream.djl.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamEnd;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the example: train with a checkpoint in one JVM, resume from it in another, compare bit for bit. */
class TrainAndResumeTest {
    static final int L = 16;
    static final int CKPT_AT = 7;

    @TempDir
    Path dir;

    @Test
    void aResumedRunContinuesOnTheNextStepWithIdenticalLossesAndParameters() throws Exception {
        Path stream = dir.resolve("stream");
        ObjectStore fs = FileStore.open(stream, true);
        // 12 steps of 8 samples, then closed: each run's epoch ends at the end, at once
        Streams.produce(fs, "tokenizer", 1, 8, new SyntheticSource(96, 3, 0, 1, L), -1, Streams.opts()).close();
        StreamEnd.close(fs);
        String uri = "file://" + stream;
        Path ckpt = dir.resolve("ckpt");

        List<String> full = run(dir, "train", uri, ckpt.toString(), Integer.toString(L), Integer.toString(CKPT_AT));
        List<String> resumed = run(dir, "resume", uri, ckpt.toString(), Integer.toString(L));

        assertEquals(13, full.size(), "12 steps and the parameters: " + full);
        assertEquals("step 0", full.get(0).substring(0, 6));
        assertEquals(List.of(full.subList(CKPT_AT, full.size()).toArray()), List.of(resumed.toArray()),
                "the resumed run trains steps " + CKPT_AT + ".. with the same losses and ends with the same parameters");
        assertTrue(resumed.get(0).startsWith("step " + CKPT_AT + " "), resumed.get(0));
        assertEquals(CKPT_AT, ManifestLog.open(fs, true).state().latestCheckpoint().step(), "the checkpoint was recorded in the log");
    }

    /** Runs the example in a child JVM and returns its stdout lines. */
    static List<String> run(Path dir, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", System.getProperty("java.class.path"), TrainAndResume.class.getName()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve(args[0] + ".out");
        Path err = dir.resolve(args[0] + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(args[0] + " did not finish within 180 s; stderr: " + Files.readString(err));
        }
        assertEquals(0, p.exitValue(), args[0] + " failed; stderr: " + Files.readString(err, StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        for (String s : Files.readAllLines(out)) {
            if (s.startsWith("step ") || s.startsWith("params ")) {
                lines.add(s);
            }
        }
        return lines;
    }
}
