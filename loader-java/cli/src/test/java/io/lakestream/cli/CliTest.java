package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.testing.Cli;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void produceConsumeInspectContract() throws Exception {
        String uri = "file://" + dir.resolve("s");
        Cli.Result p = Cli.run("produce", "--stream", uri, "--producer", "a", "--world-size", "2", "--micro-batch", "3",
                "--seq-len", "8", "--source", "synthetic:records=20,seed=1", "--max-steps", "2", "--lz4",
                "--log-grace-s", "30", "--orphan-grace-s", "90", "--index-segment-steps", "32", "--keep-checkpoints", "3");
        assertEquals(0, p.exit(), p.err());
        Cli.Result p2 = Cli.run("produce", "--stream", uri, "--producer", "a", "--world-size", "2", "--micro-batch", "3",
                "--seq-len", "8", "--source", "synthetic:records=20,seed=1");
        assertEquals(0, p2.exit(), p2.err());
        JsonNode summary = M.readTree(p2.out());
        assertEquals(2, summary.get("resumed_at_seq").asLong(), "the second run resumed after the first run's 2 batches");

        BitSet seen = new BitSet();
        int steps = -1;
        for (int rank = 0; rank < 2; rank++) {
            Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", Integer.toString(rank), "--world-size", "2",
                    "--print", "ids", "--timeout-s", "1");
            assertEquals(0, c.exit(), c.err());
            List<JsonNode> ls = Cli.jsonLines(c.out());
            steps = ls.size();
            for (int i = 0; i < ls.size(); i++) {
                assertEquals(i, ls.get(i).get("step").asInt());
                assertEquals(rank, ls.get(i).get("rank").asInt());
                for (JsonNode id : ls.get(i).get("ids")) {
                    assertTrue(!seen.get(id.asInt()), "duplicate " + id);
                    seen.set(id.asInt());
                }
            }
        }
        assertEquals(4, steps, "20 records in batches of 6: 3 full steps and one partial");
        assertEquals(20, seen.cardinality());

        Cli.Result d1 = Cli.run("consume", "--stream", uri, "--rank", "1", "--world-size", "2", "--from-step", "1", "--steps", "2");
        Cli.Result d2 = Cli.run("consume", "--stream", uri, "--rank", "1", "--world-size", "2", "--from-step", "1", "--steps", "2");
        assertEquals(0, d1.exit(), d1.err());
        assertEquals(d1.out(), d2.out(), "digests are stable across runs");
        List<JsonNode> dl = Cli.jsonLines(d1.out());
        assertEquals(1, dl.get(0).get("step").asInt());
        assertEquals(64, dl.get(0).get("sha256").asText().length());
        assertNotEquals(dl.get(0).get("sha256").asText(), dl.get(1).get("sha256").asText());

        Cli.Result i = Cli.run("inspect", "--stream", uri, "--json");
        assertEquals(0, i.exit(), i.err());
        JsonNode in = M.readTree(i.out());
        assertEquals(4, in.get("committed_steps").asInt());
        assertEquals(2, in.get("producers").get("a").get("epoch").asInt());
        assertEquals(4, in.get("producers").get("a").get("seq").asInt());
        assertEquals("next=20", in.get("producers").get("a").get("cursor").asText());
        // the stream-wide settings the first producer created the stream with
        assertEquals(30_000, in.get("log_grace_ms").asLong());
        assertEquals(90_000, in.get("orphan_grace_ms").asLong());
        assertEquals(32, in.get("index_segment_steps").asInt());
        assertEquals(3, in.get("keep_checkpoints").asInt());
        assertEquals(0, in.get("unrecognised_keys").size(), in.toString());
        Cli.Result table = Cli.run("inspect", "--stream", uri);
        assertEquals(0, table.exit());
        assertTrue(table.out().contains("committed steps  4"), table.out());

        // a key Lakestream never writes is listed, not interpreted
        java.nio.file.Files.writeString(dir.resolve("s/data/a/00000001-000000000001.tgb.partial"), "x");
        in = M.readTree(Cli.run("inspect", "--stream", uri, "--json").out());
        assertEquals(1, in.get("unrecognised_keys").size(), in.toString());
        assertTrue(in.get("unrecognised_keys").get(0).asText().startsWith("data/a/00000001-000000000001.tgb.partial ("), in.toString());
        table = Cli.run("inspect", "--stream", uri);
        assertTrue(table.out().contains("unrecognised keys (1;"), table.out());
    }

    @Test
    void aClosedStreamEndsConsumersAtOnceAndRefusesProducers() throws Exception {
        String uri = "file://" + dir.resolve("s");
        String[] produce = {"produce", "--stream", uri, "--producer", "a", "--world-size", "2", "--micro-batch", "2",
                "--seq-len", "4", "--source", "synthetic:records=12,seed=1"};
        assertEquals(0, Cli.run(produce).exit());
        Cli.Result open = Cli.run("inspect", "--stream", uri, "--json");
        assertTrue(M.readTree(open.out()).get("ended_at_step").isNull(), open.out());

        Cli.Result close = Cli.run("close", "--stream", uri);
        assertEquals(0, close.exit(), close.err());
        assertEquals(3, M.readTree(close.out()).get("ended_at_step").asLong());
        assertTrue(M.readTree(close.out()).get("committed").asBoolean());
        assertTrue(!M.readTree(Cli.run("close", "--stream", uri).out()).get("committed").asBoolean(), "idempotent");

        // a timeout of an hour: only the end-of-stream record can end this consume
        Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", "1", "--world-size", "2", "--timeout-s", "3600");
        assertEquals(0, c.exit(), c.err());
        assertEquals(3, Cli.jsonLines(c.out()).size());
        Cli.Result more = Cli.run("consume", "--stream", uri, "--rank", "1", "--world-size", "2", "--from-step", "1",
                "--steps", "5", "--timeout-s", "3600");
        assertEquals(1, more.exit());
        assertTrue(more.err().contains("ended at step 3") && more.err().contains("only 2 of the 5 steps"), more.err());

        Cli.Result i = Cli.run("inspect", "--stream", uri, "--json");
        assertEquals(3, M.readTree(i.out()).get("ended_at_step").asLong());
        assertTrue(Cli.run("inspect", "--stream", uri).out().contains("closed: ended at step 3"));

        Cli.Result refused = Cli.run(produce);
        assertEquals(Main.EXIT_CLOSED, refused.exit());
        assertTrue(refused.err().contains("is closed: it ended at step 3"), refused.err());
    }

    @Test
    void produceCanCloseTheStreamWhenItsSourceIsDone() throws Exception {
        String uri = "file://" + dir.resolve("s");
        String[] partial = {"produce", "--stream", uri, "--producer", "a", "--world-size", "1", "--micro-batch", "2",
                "--seq-len", "4", "--source", "synthetic:records=10,seed=1", "--max-steps", "2", "--close-when-done"};
        Cli.Result p = Cli.run(partial);
        assertEquals(0, p.exit(), p.err());
        assertTrue(M.readTree(p.out()).get("ended_at_step") == null, "the source is not exhausted yet: " + p.out());
        Cli.Result rest = Cli.run("produce", "--stream", uri, "--producer", "a", "--world-size", "1", "--micro-batch", "2",
                "--seq-len", "4", "--source", "synthetic:records=10,seed=1", "--close-when-done");
        assertEquals(0, rest.exit(), rest.err());
        assertEquals(5, M.readTree(rest.out()).get("ended_at_step").asLong());
        Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", "0", "--world-size", "1", "--timeout-s", "3600");
        assertEquals(5, Cli.jsonLines(c.out()).size());
    }

    @Test
    void dtypeU16WritesTheSameTokensInHalfTheBytes() {
        String i32 = "file://" + dir.resolve("i32");
        String u16 = "file://" + dir.resolve("u16");
        for (String[] run : new String[][] {{i32, "i32"}, {u16, "u16"}}) {
            Cli.Result p = Cli.run("produce", "--stream", run[0], "--producer", "a", "--world-size", "2", "--micro-batch", "4",
                    "--seq-len", "64", "--source", "synthetic:records=16,seed=3", "--dtype", run[1]);
            assertEquals(0, p.exit(), p.err());
        }
        try (var a = io.lakestream.store.ObjectStores.open(i32, false); var b = io.lakestream.store.ObjectStores.open(u16, false);
             var ra = io.lakestream.reader.RankReader.open(a, 1, 2, 0, io.lakestream.reader.ReaderOptions.defaults());
             var rb = io.lakestream.reader.RankReader.open(b, 1, 2, 0, io.lakestream.reader.ReaderOptions.defaults())) {
            for (int step = 0; step < 2; step++) {
                try (var x = ra.next(10_000); var y = rb.next(10_000)) {
                    assertEquals(io.lakestream.format.DType.U16, y.tensor("tokens").dtype());
                    assertEquals(x.tensor("tokens").data().byteSize(), 2 * y.tensor("tokens").data().byteSize());
                    org.junit.jupiter.api.Assertions.assertArrayEquals(x.tensor("tokens").toIntArray(), y.tensor("tokens").toIntArray());
                }
            }
        }
        Cli.Result bad = Cli.run("produce", "--stream", u16, "--producer", "b", "--world-size", "2", "--micro-batch", "1",
                "--seq-len", "4", "--source", "synthetic:records=4,seed=1", "--dtype", "f32");
        assertEquals(Main.EXIT_USAGE, bad.exit(), "a bad option value is a usage error");
        assertTrue(bad.err().contains("--dtype must be i32 or u16"), bad.err());
    }

    @Test
    void errorsExitNonZeroWithAClearMessage() {
        String uri = "file://" + dir.resolve("s");
        Cli.Result r = Cli.run("consume", "--stream", "file://" + dir.resolve("nope"), "--rank", "0", "--world-size", "1");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("does not exist"), r.err());
        r = Cli.run("inspect", "--stream", "ftp://x/y");
        assertEquals(Main.EXIT_USAGE, r.exit(), "an invalid stream URI is a usage error");
        assertTrue(r.err().contains("unknown URI scheme 'ftp'"), r.err());
        assertEquals(0, Cli.run("produce", "--stream", uri, "--producer", "a", "--world-size", "2", "--micro-batch", "1",
                "--seq-len", "4", "--source", "synthetic:records=4,seed=1").exit());
        r = Cli.run("consume", "--stream", uri, "--rank", "0", "--world-size", "3", "--steps", "1");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("world size 2") && r.err().contains("3"), r.err());
        r = Cli.run("produce", "--stream", uri, "--producer", "b", "--world-size", "5", "--micro-batch", "1",
                "--seq-len", "4", "--source", "synthetic:records=4,seed=1");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("world size 2"), r.err());
        r = Cli.run("consume", "--stream", uri, "--rank", "0", "--world-size", "2", "--from-step", "2", "--steps", "1", "--timeout-s", "0.3");
        assertEquals(Main.EXIT_TIMEOUT, r.exit());
        assertTrue(r.err().contains("step 2") && r.err().contains("not committed"), r.err());
        r = Cli.run("produce", "--stream", uri, "--producer", "../x", "--world-size", "2", "--micro-batch", "1",
                "--seq-len", "4", "--source", "synthetic:records=4,seed=1");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("invalid producer id"), r.err());
        r = Cli.run("produce", "--stream", uri, "--producer", "c", "--world-size", "2", "--micro-batch", "1",
                "--seq-len", "4", "--source", "kafka:topic");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("unknown --source"), r.err());
    }
}
