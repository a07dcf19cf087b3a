package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 26: bad input is refused with exit 2 before anything is committed, and named where it is. */
class BadInputTest {
    static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    private static String[] produce(String uri, String... more) {
        List<String> a = new ArrayList<>(List.of("produce", "--stream", uri, "--producer", "mix", "--world-size", "1",
                "--micro-batch", "2", "--seq-len", "4", "--source", "a=synthetic:records=20,seed=1",
                "--source", "b=synthetic:records=20,seed=2"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static JsonNode control(String uri) throws Exception {
        Cli.Result r = Cli.run("control", "--stream", uri);
        assertEquals(0, r.exit(), r.err());
        return M.readTree(r.out());
    }

    @Test
    void aMixtureNamingAnUnknownSourceIsRefusedAtProduce() {
        Path s = dir.resolve("s");
        Cli.Result r = Cli.run(produce("file://" + s, "--mixture", "a:1,zz:1"));
        assertEquals(Main.EXIT_USAGE, r.exit(), r.err());
        assertTrue(r.err().contains("--mixture names source [zz] that this producer does not have (sources: [a, b])"), r.err());
        assertFalse(Files.exists(s), "refused before the stream was created");
        r = Cli.run(produce("file://" + s, "--mixture", "a:1,,b:1"));
        assertEquals(Main.EXIT_USAGE, r.exit(), r.err());
        assertTrue(r.err().contains("has an empty entry (entry 2 of 3)"), r.err());
        assertFalse(Files.exists(s));
    }

    @Test
    void controlRefusesWhatNoProducerWouldActOnAndCommitsNothing() throws Exception {
        String uri = "file://" + dir.resolve("s");
        Cli.Result p = Cli.run(produce(uri, "--max-steps", "2"));
        assertEquals(0, p.exit(), p.err());
        String[][] refused = {
            {"--set", "mixture=a:1,zz:1"},   // no mixture producer of the stream has zz (known from mix's committed cursor)
            {"--set", "mixture=a:1,,b:1"},   // an empty entry
            {"--set", "colour=blue"},        // an unknown key: no producer reads it
            {"--set", "mixture"},            // not KEY=VALUE
            {"--unset", "colour"},
        };
        String[] says = {"names source [zz] that no mixture producer of the stream has (sources: [a, b])",
            "has an empty entry (entry 2 of 3)", "unknown control setting 'colour'", "--set 'mixture' is not KEY=VALUE",
            "unknown control setting 'colour'"};
        for (int i = 0; i < refused.length; i++) {
            List<String> args = new ArrayList<>(List.of("control", "--stream", uri));
            args.addAll(List.of(refused[i]));
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertEquals(Main.EXIT_USAGE, r.exit(), String.join(" ", refused[i]) + ": " + r.err());
            assertTrue(r.err().contains(says[i]), r.err());
            assertEquals(0, control(uri).get("control").asInt(), "nothing committed for " + String.join(" ", refused[i]));
        }
        Cli.Result ok = Cli.run("control", "--stream", uri, "--set", "x.colour=blue", "--set", "mixture=a:3,b:1");
        assertEquals(0, ok.exit(), ok.err());
        JsonNode c = control(uri);
        assertEquals(1, c.get("control").asInt());
        assertEquals("blue", c.get("settings").get("x.colour").asText());
        Cli.Result starve = Cli.run("control", "--stream", uri, "--set", "mixture=a:0,b:0.0");
        assertEquals(Main.EXIT_USAGE, starve.exit(), starve.err());
    }

    /** A bad JSONL line stops the producer naming its line; the batches before stay; a rerun after the fix continues exactly. */
    @Test
    void aBadJsonlLineStopsTheProducerAtItsLineAndARerunContinuesExactly() throws Exception {
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            good.add("{\"text\":\"document number " + i + " with some words\"}");
        }
        Path file = dir.resolve("docs.jsonl");
        List<String> bad = new ArrayList<>(good);
        bad.set(29, "{\"text\": broken");
        Files.write(file, bad);
        String uri = "file://" + dir.resolve("s");
        String[] args = {"produce", "--stream", uri, "--producer", "p", "--world-size", "1", "--micro-batch", "2",
            "--seq-len", "16", "--group", "1", "--fixed-group", "--source", "jsonl:path=" + file};
        Cli.Result r = Cli.run(args);
        assertEquals(Main.EXIT_ERROR, r.exit(), r.err());
        assertTrue(r.err().contains("docs.jsonl line 30 (byte "), r.err());
        Cli.Result in = Cli.run("inspect", "--stream", uri, "--json");
        long before = M.readTree(in.out()).get("committed_steps").asLong();
        assertTrue(before > 0, "the batches before the bad line are committed: " + in.out());

        Files.write(file, good);
        assertEquals(0, Cli.run(args).exit());
        Path ref = dir.resolve("ref.jsonl");
        Files.write(ref, good);
        String refUri = "file://" + dir.resolve("ref");
        String[] refArgs = args.clone();
        refArgs[2] = refUri;
        refArgs[refArgs.length - 1] = "jsonl:path=" + ref;
        assertEquals(0, Cli.run(refArgs).exit());
        Cli.Result a = Cli.run("consume", "--stream", uri, "--rank", "0", "--world-size", "1", "--timeout-s", "1");
        Cli.Result b = Cli.run("consume", "--stream", refUri, "--rank", "0", "--world-size", "1", "--timeout-s", "1");
        assertEquals(0, a.exit(), a.err());
        assertEquals(b.out(), a.out(), "failed run + rerun = one clean run, step by step");
        assertTrue(Cli.jsonLines(a.out()).size() > before);
    }
}
