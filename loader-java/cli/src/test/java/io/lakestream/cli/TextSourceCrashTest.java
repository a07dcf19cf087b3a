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
        return new String[] {"produce", "--stream", uri, "--producer", "p0", "--world-size", Integer.toString(W), "--micro-batch", "4",
                "--seq-len", "256", "--source", "text:path=/usr/share/common-licenses"};
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
            // The producer stops after its second commit (a fail point that sleeps), is SIGKILLed there.
            Process p = Cli.start(logs, "p" + kill, Map.of("LAKESTREAM_FAILPOINTS", FailPoints.AFTER_COMMIT + "=sleep:120000@2"),
                    produce(uri));
            ProducerState st = awaitProgress(streamDir, lastSeq + 5, p, logs, "p" + kill);
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

    /** Waits until the producer committed at least {@code seq} and its process is paused after a commit. */
    private static ProducerState awaitProgress(Path streamDir, long seq, Process p, Path logs, String name) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            assertTrue(p.isAlive(), name + " died early: " + Cli.read(logs, name + ".err"));
            if (java.nio.file.Files.exists(streamDir.resolve("_lakestream.json"))) {
                try (ObjectStore fs = FileStore.open(streamDir, false)) {
                    ProducerState st = ManifestLog.open(fs, true).state().producer("p0");
                    if (st != null && st.seq() >= seq) {
                        Thread.sleep(300); // it sleeps at the fail point now: nothing more gets committed
                        ProducerState again = ManifestLog.open(fs, true).state().producer("p0");
                        if (again.seq() == st.seq()) {
                            return again;
                        }
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError(name + " made no progress: " + Cli.read(logs, name + ".err"));
    }
}
