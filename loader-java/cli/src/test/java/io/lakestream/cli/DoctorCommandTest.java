package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import io.lakestream.testkit.s3.EmbeddedS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DoctorCommandTest {
    @TempDir
    Path dir;

    @Test
    void doctorPassesOnFileStoreAndSaysWhatEachPropertyIsFor() {
        Cli.Result r = Cli.run("doctor", "--stream", "file://" + dir.resolve("s"));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(6, r.out().lines().filter(l -> l.startsWith("PASS ")).count(), r.out());
        assertTrue(r.out().contains("needed for: a commit is a put-if-absent"), r.out());
        assertTrue(r.err().contains("every property the protocol needs holds"), r.err());
    }

    @Test
    void doctorFailsAndProduceRefusesOnAStoreWithoutAtomicConditionalWrites() throws Exception {
        try (EmbeddedS3Server unsafe = EmbeddedS3Server.startUnsafe("filesystem-nio2")) {
            unsafe.createBucket("unsafe");
            String uri = unsafe.streamUri("unsafe", "s");
            Cli.Result d = Cli.run("doctor", "--stream", uri, "--quick", "--json");
            assertEquals(Main.EXIT_ERROR, d.exit(), d.out() + d.err());
            assertTrue(d.out().contains("\"passed\":false"), d.out());
            assertTrue(d.err().contains("NOT SAFE"), d.err());

            String[] produce = {"produce", "--stream", uri, "--producer", "p", "--world-size", "1", "--micro-batch", "1",
                    "--seq-len", "4", "--source", "synthetic:records=3,seed=1"};
            Cli.Result p = Cli.run(produce);
            assertEquals(Main.EXIT_ERROR, p.exit(), p.out() + p.err());
            assertTrue(p.err().contains("refusing to create a stream") && p.err().contains("put-if-absent has exactly one winner"),
                    p.err());
            assertFalse(p.out().contains("\"steps\""), "nothing was produced");

            String[] forced = java.util.Arrays.copyOf(produce, produce.length + 1);
            forced[produce.length] = "--unsafe-store";
            Cli.Result f = Cli.run(forced);
            assertEquals(0, f.exit(), f.out() + f.err());
            assertTrue(f.err().contains("WARNING: --unsafe-store"), f.err());
            assertTrue(f.out().contains("\"steps\":3"), f.out());
        }
    }

    @Test
    void doctorOnAFreshFileLocationLeavesNoProbeObjects() throws Exception {
        Path s = dir.resolve("fresh");
        assertEquals(0, Cli.run("doctor", "--stream", "file://" + s, "--quick").exit());
        try (var files = Files.walk(s)) {
            assertEquals(0, files.filter(Files::isRegularFile).count(), "the probe removed everything it wrote");
        }
    }
}
