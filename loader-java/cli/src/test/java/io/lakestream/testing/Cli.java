package io.lakestream.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real CLI: in this JVM (output captured) or as a separate java process. */
public final class Cli {
    private Cli() {}

    public record Result(int exit, String out, String err) {}

    /** In-process; not safe to call from several threads at once (swaps System.out/err). */
    public static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int rc = io.lakestream.cli.Main.run(args);
            return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Starts {@code lakestream args…} as a child JVM, output to files under {@code logDir}. */
    public static Process start(Path logDir, String name, Map<String, String> env, String... args) throws IOException {
        Files.createDirectories(logDir);
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "io.lakestream.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve(name + ".out").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve(name + ".err").toFile()));
        pb.environment().remove("LAKESTREAM_FAILPOINTS");
        pb.environment().putAll(env);
        return pb.start();
    }

    public static int waitFor(Process p, long seconds) throws InterruptedException {
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child process did not finish within " + seconds + " s");
        }
        return p.exitValue();
    }

    /** Sends a signal (STOP, CONT, KILL, …) to a process. */
    public static void signal(Process p, String sig) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor();
    }

    /** The JSON lines of a command's output (blank lines skipped). */
    public static List<com.fasterxml.jackson.databind.JsonNode> jsonLines(String out) {
        List<com.fasterxml.jackson.databind.JsonNode> l = new ArrayList<>();
        try {
            for (String s : out.split("\n")) {
                if (!s.isBlank()) {
                    l.add(io.lakestream.format.Json.MAPPER.readTree(s));
                }
            }
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON lines: " + out, e);
        }
        return l;
    }

    public static String read(Path logDir, String file) {
        try {
            return Files.readString(logDir.resolve(file));
        } catch (IOException e) {
            return "";
        }
    }
}
