package io.lakestream.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM the harness starts and talks to by lines: the child prints protocol lines that
 * start with {@value #TAG} on stdout (anything else is logged), and reads commands from stdin.
 * Its stderr goes to a log file, named in every error. One owner: whoever started it closes it.
 */
final class Child implements AutoCloseable {
    static final String TAG = io.lakestream.testkit.s3.S3ServerProcess.TAG;

    private final String name;
    private final Process process;
    private final Path log;
    private final Writer stdin;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread pump;

    private Child(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.pump = new Thread(this::pumpStdout, "child-" + name);
        this.pump.setDaemon(true);
        this.pump.start();
    }

    /** Starts {@code java [jvmArgs] -cp <this class path> mainClass args}, stderr (and untagged stdout) to {@code log}. */
    static Child start(String name, List<String> jvmArgs, String mainClass, List<String> args, Path log) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        try {
            return new Child(name, pb.start(), log);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + name + ": " + e, e);
        }
    }

    long pid() {
        return process.pid();
    }

    String name() {
        return name;
    }

    private void pumpStdout() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             Writer out = new java.io.FileWriter(log.toFile(), StandardCharsets.UTF_8, true)) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith(TAG)) {
                    lines.add(line.substring(TAG.length()));
                } else {
                    out.write(line + "\n");
                    out.flush();
                }
            }
        } catch (IOException e) {
            // the child ended
        }
    }

    /** Sends one command line. */
    void send(String line) {
        try {
            stdin.write(line + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new IllegalStateException(name + " is gone (" + e.getMessage() + "); see " + log, e);
        }
    }

    /** Waits for the next protocol line starting with {@code word}; fails if the child exits or times out. */
    String expect(String word, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        try {
            while (true) {
                String l = lines.poll(100, TimeUnit.MILLISECONDS);
                if (l != null) {
                    if (l.startsWith(word)) {
                        return l.substring(word.length()).trim();
                    }
                    if (l.startsWith("ERROR")) {
                        throw new IllegalStateException(name + " failed: " + l.substring(5).trim() + " (log: " + log + ")");
                    }
                    continue;
                }
                if (!process.isAlive() && lines.isEmpty()) {
                    pump.join(1000);
                    if (lines.isEmpty()) {
                        throw new IllegalStateException(name + " exited with code " + process.exitValue() + " before '" + word
                                + "'; see " + log);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + " did not say '" + word + "' within " + timeoutMillis / 1000 + " s; see "
                            + log);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + name, e);
        }
    }

    double cpuSeconds() {
        return ProcStat.cpuSeconds(process.pid());
    }

    long peakRssBytes() {
        return ProcStat.peakRssBytes(process.pid());
    }

    /** Stops a child that does not watch stdin (the broker): SIGTERM (a clean shutdown), then SIGKILL after 30 s. */
    void terminate() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** Closes stdin (the child's cue to exit), waits a while, then kills it. */
    @Override
    public void close() {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
