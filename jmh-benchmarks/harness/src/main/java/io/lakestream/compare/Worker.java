package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Main class of every client process the harness starts: {@code Worker <mode> <json>}. It sets
 * up (opens producers or readers, warms up), prints {@code @@READY}, waits for {@code GO} on
 * stdin, runs the timed part, prints {@code @@RESULT <json>}, and exits when stdin closes, so the
 * harness can read its peak RSS from /proc before it goes.
 */
public final class Worker {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final PrintStream PROTOCOL = System.out;
    private static BufferedReader stdin;

    private Worker() {}

    /** One kind of work: set up in the constructor-like {@link #setUp}, then {@link #run} once. */
    interface Job {
        void setUp() throws Exception;

        Map<String, Object> run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        // Libraries may print to stdout: only protocol lines go there.
        System.setOut(new PrintStream(System.err, true, StandardCharsets.UTF_8));
        stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int rc = 0;
        try {
            JsonNode cfg = JSON.readTree(args[1]);
            Job job = switch (args[0]) {
                case "ls-produce" -> new ProduceJob(cfg, LakestreamClients::sink);
                case "ls-read" -> new ReadJob(cfg, LakestreamClients::source);
                case "kafka-produce" -> new ProduceJob(cfg, KafkaClients::sink);
                case "kafka-read" -> new ReadJob(cfg, KafkaClients::source);
                case "dac-run" -> new DacJobs.Run(cfg);
                case "dac-growth" -> new DacJobs.Growth(cfg);
                case "dac-build" -> new DacJobs.Build(cfg);
                default -> throw new IllegalArgumentException("unknown worker mode " + args[0]);
            };
            job.setUp();
            say("READY");
            String go = stdin.readLine();
            if (!"GO".equals(go)) {
                return; // the harness went away
            }
            Map<String, Object> result = new LinkedHashMap<>(job.run());
            say("RESULT " + JSON.writeValueAsString(result));
        } catch (Throwable t) {
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            System.err.println(sw);
            say("ERROR " + String.valueOf(t).replace('\n', ' '));
            rc = 1;
        }
        while (stdin.readLine() != null) {
            // wait for the harness to close stdin
        }
        System.exit(rc);
    }

    static void say(String line) {
        synchronized (PROTOCOL) {
            PROTOCOL.println(Child.TAG + line);
            PROTOCOL.flush();
        }
    }

    /** Sleeps until {@code deadlineNanos} (System.nanoTime) for open-loop pacing; no-op if past. */
    static void sleepUntil(long deadlineNanos) throws InterruptedException {
        long d = deadlineNanos - System.nanoTime();
        if (d > 0) {
            Thread.sleep(d / 1_000_000, (int) (d % 1_000_000));
        }
    }

    static String text(JsonNode cfg, String field) {
        JsonNode n = cfg.get(field);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException("worker config lacks '" + field + "'");
        }
        return n.asText();
    }

    static void rethrow(Throwable t) throws IOException {
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IOException(t);
    }
}
