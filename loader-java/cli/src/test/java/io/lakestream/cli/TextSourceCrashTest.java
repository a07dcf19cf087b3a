package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testing.Cli;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code produce} process packing Debian's license texts is SIGKILLed twice while its
 * committed cursor is inside a document; the restarted producers carry the cut document's
 * tokens over and the stream is byte-identical, step by step and rank by rank, to an
 * uninterrupted run.
 */
class TextSourceCrashTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private static String[] produce(String uri) {
        // exactly 4 steps per commit, so "the second commit" is the same steps on any machine
        return new String[] {"produce", "--stream", uri, "--producer", "p0", "--world-size", Integer.toString(W), "--micro-batch", "4",
                "--seq-len", "256", "--source", "text:path=/usr/share/common-licenses", "--group", "4", "--fixed-group"};
    }

    @Test
    void textProducerKilledMidDocumentResumesWithTheSameSamples() throws Exception {
        Path refDir = dir.resolve("reference");
        Cli.Result ref = Cli.run(produce("file://" + refDir));
        assertEquals(0, ref.exit(), ref.err());

        Path streamDir = dir.resolve("killed");
        String uri = "file://" + streamDir;
        Path logs = dir.resolve("logs");
        long lastSeq = 0;
        for (int kill = 1; kill <= 2; kill++) {
            // The producer stalls after its second commit (a fail point that waits for a file never
            // created), is SIGKILLed there.
            Path never = dir.resolve("never-" + kill);
            Process p = Cli.start(logs, "p" + kill, Map.of("LAKESTREAM_FAILPOINTS", FailPoints.AFTER_COMMIT + "=await:" + never + "@2"),
                    produce(uri));
            ProducerState st = awaitStall(streamDir, never, p, logs, "p" + kill);
            assertEquals(lastSeq + 8, st.seq(), "two commits of 4 steps after the resume point");
            p.destroyForcibly(); // SIGKILL
            p.waitFor();
            assertTrue(st.cursor().matches("text:i=\\d+,off=0,tok=[1-9]\\d*,file=.+"), "killed inside a document: " + st.cursor());
            lastSeq = st.seq();
        }
        Cli.Result rest = Cli.run(produce(uri));
        assertEquals(0, rest.exit(), rest.err());
        assertTrue(rest.out().contains("\"resumed_at_seq\":" + lastSeq), rest.out());

        try (ObjectStore a = FileStore.open(refDir, false); ObjectStore b = FileStore.open(streamDir, false)) {
            List<List<Streams.Seen>> want = Streams.readAll(a, W);
            List<List<Streams.Seen>> got = Streams.readAll(b, W);
            assertEquals(want.get(0).size(), got.get(0).size(), "same number of steps");
            for (int r = 0; r < W; r++) {
                for (int s = 0; s < want.get(r).size(); s++) {
                    assertEquals(want.get(r).get(s).sha256(), got.get(r).get(s).sha256(), "step " + s + " rank " + r);
                }
            }
        }
    }

    /** Waits until the producer stalls at its fail point (after a commit), then reads what it committed. */
    private static ProducerState awaitStall(Path streamDir, Path never, Process p, Path logs, String name) throws Exception {
        Path reached = never.resolveSibling(never.getFileName() + ".reached");
        long deadline = System.currentTimeMillis() + 120_000;
        while (!java.nio.file.Files.exists(reached)) {
            assertTrue(p.isAlive(), name + " died early: " + Cli.read(logs, name + ".err"));
            assertTrue(System.currentTimeMillis() < deadline, name + " made no progress: " + Cli.read(logs, name + ".err"));
            Thread.sleep(20); // polls another process's file: there is no event to wait on
        }
        try (ObjectStore fs = FileStore.open(streamDir, false)) {
            return ManifestLog.open(fs, true).state().producer("p0");
        }
    }
}
