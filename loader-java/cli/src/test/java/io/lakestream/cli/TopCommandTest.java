package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lakestream top} in a real terminal: the command runs under {@code script(1)}, which gives
 * it a pseudo-terminal, so it takes the terminal path (each screen drawn in place) while this test
 * reads what the terminal received. Commits and a checkpoint made meanwhile show up on screen.
 */
class TopCommandTest {
    @TempDir
    Path dir;

    private String[] produce(String uri, String producer, int steps) {
        return new String[] {"produce", "--stream", uri, "--producer", producer, "--world-size", "2", "--micro-batch", "2",
                "--seq-len", "8", "--source", "synthetic:records=10000,seed=3", "--max-steps", Integer.toString(steps),
                "--max-lag-steps", "16", "--group", "2", "--fixed-group"};
    }

    @Test
    void onceIsOnePlainScreen() throws Exception {
        String uri = "file://" + dir.resolve("s");
        assertEquals(0, Cli.run(produce(uri, "tok-a", 4)).exit());
        assertEquals(0, Cli.run("checkpoint", "--stream", uri, "--step", "2").exit());
        Cli.Result r = Cli.run("top", "--stream", uri, "--once");
        assertEquals(0, r.exit(), r.err());
        String s = r.out();
        assertFalse(s.contains("\033["), "no terminal codes when not on a terminal");
        assertTrue(s.contains("head step 4"), s);
        assertTrue(s.contains("2 steps beyond the newest checkpoint · bound 16"), s);
        assertTrue(s.matches("(?s).*tok-a +1 +4 +3 +0 .*"), s); // epoch 1, seq 4, last step 3, 0 behind
        assertTrue(s.contains("floor step 2") && s.contains("resumes at step 2 (2 steps committed ahead)"), s);
    }

    @Test
    void aTerminalShowsCommitsAndCheckpointsAsTheyHappen() throws Exception {
        String uri = "file://" + dir.resolve("s");
        assertEquals(0, Cli.run(produce(uri, "tok-a", 4)).exit());
        Path screen = dir.resolve("screen.txt");
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.lakestream.cli.Main", "top",
                "--stream", uri, "--interval-s", "0.2"));
        StringBuilder line = new StringBuilder();
        for (String a : cmd) {
            line.append('\'').append(a.replace("'", "'\\''")).append("' ");
        }
        Process term = new ProcessBuilder("script", "-qfec", line.toString(), "/dev/null")
                .redirectOutput(screen.toFile()).redirectErrorStream(true).start();
        try {
            String first = waitFor(screen, term, s -> s.contains("head step 4"));
            assertTrue(first.contains("\033[H\033[2J"), "drawn in place on a terminal");
            assertTrue(first.contains("none yet: no trainer has recorded a checkpoint"));

            assertEquals(0, Cli.run(produce(uri, "tok-b", 6)).exit());
            assertEquals(0, Cli.run("checkpoint", "--stream", uri, "--step", "6", "--id", "ckpt-6").exit());
            String later = waitFor(screen, term, s -> lastScreen(s).contains("head step 10") && lastScreen(s).contains("ckpt-6"));
            String last = lastScreen(later);
            assertTrue(last.contains("producers (2)"), last);
            assertTrue(last.matches("(?s).*tok-a +1 +4 +3 +6 .*"), "tok-a's last step 3 is 6 behind head 10:\n" + last);
            assertTrue(last.matches("(?s).*tok-b +1 +6 +9 +0 .*"), last);
            assertTrue(last.contains("4 steps beyond the newest checkpoint · bound 16"), last);
            assertTrue(last.contains("resumes at step 6 (4 steps committed ahead)"), last);
        } finally {
            term.descendants().forEach(ProcessHandle::destroy);
            term.destroy();
        }
    }

    /** The text after the last clear-screen. */
    private static String lastScreen(String s) {
        int i = s.lastIndexOf("\033[H\033[2J");
        return i < 0 ? s : s.substring(i);
    }

    private static String waitFor(Path screen, Process p, Predicate<String> done) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        String s = "";
        while (System.nanoTime() < deadline) {
            s = Files.exists(screen) ? Files.readString(screen) : "";
            if (done.test(s)) {
                return s;
            }
            if (!p.isAlive()) {
                throw new AssertionError("top exited " + p.exitValue() + ":\n" + s);
            }
            Thread.sleep(50); // polling the terminal's output, not timing
        }
        throw new AssertionError("screen never showed it:\n" + lastScreen(s));
    }
}
