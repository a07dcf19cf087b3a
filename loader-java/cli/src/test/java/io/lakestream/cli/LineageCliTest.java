package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.testing.Cli;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code blame} and {@code find} agree with what {@code consume --print ids} delivers. */
class LineageCliTest {
    static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void blameAndFindMatchConsume() throws Exception {
        String uri = "file://" + dir.resolve("s");
        for (int k = 0; k < 2; k++) {
            Cli.Result p = Cli.run("produce", "--stream", uri, "--producer", "p" + k, "--world-size", "2", "--micro-batch", "3",
                    "--seq-len", "8", "--source", "synthetic:records=200,seed=1,partition=" + k + "/2", "--max-steps", k == 0 ? "10" : "4");
            assertEquals(0, p.exit(), p.err());
        }
        for (int rank = 0; rank < 2; rank++) {
            Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", Integer.toString(rank), "--world-size", "2", "--print", "ids",
                    "--timeout-s", "1");
            assertEquals(0, c.exit(), c.err());
            List<JsonNode> steps = Cli.jsonLines(c.out());
            assertEquals(14, steps.size());
            for (JsonNode s : steps) {
                Cli.Result b = Cli.run("blame", "--stream", uri, "--step", s.get("step").asText(), "--rank", Integer.toString(rank), "--json");
                assertEquals(0, b.exit(), b.err());
                JsonNode bl = M.readTree(b.out());
                assertEquals(s.get("ids"), bl.get("ranks").get(0).get("record_ids"), "step " + s.get("step"));
                for (JsonNode id : s.get("ids")) {
                    Cli.Result f = Cli.run("find", "--stream", uri, "--record", id.asText(), "--json");
                    assertEquals(0, f.exit(), f.err());
                    JsonNode hit = M.readTree(f.out()).get("hits");
                    assertEquals(1, hit.size());
                    assertEquals(s.get("step").asLong(), hit.get(0).get("step").asLong());
                    assertEquals(rank, hit.get(0).get("rank").asInt());
                }
            }
        }
        Cli.Result text = Cli.run("blame", "--stream", uri, "--step", "0");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("cursor     (start) -> next="), text.out());
        Cli.Result pending = Cli.run("find", "--stream", uri, "--record", "59");
        assertEquals(Main.EXIT_NOT_FOUND, pending.exit(), pending.out() + pending.err());
        assertTrue(pending.out().contains("record 59 is not produced yet") && pending.out().contains("p1 (cursor next=49)"), pending.out());
        // Once the stream is closed, nothing more will come: "not found", with its own exit code.
        assertEquals(0, Cli.run("close", "--stream", uri).exit());
        Cli.Result never = Cli.run("find", "--stream", uri, "--record", "59");
        assertEquals(Main.EXIT_NEVER, never.exit(), never.out() + never.err());
        assertTrue(never.out().contains("none ever will: the stream is closed (it ended at step 14)"), never.out());
        // an id no batch's record range (nor cursor range) holds: answered from the log alone
        Cli.Result far = Cli.run("find", "--stream", uri, "--record", "1000000");
        assertEquals(Main.EXIT_NEVER, far.exit(), far.out() + far.err());
        assertTrue(far.out().contains("read 0 batch object(s)"), far.out());
        Cli.Result found = Cli.run("find", "--stream", uri, "--record", "0");
        assertEquals(0, found.exit(), found.err());
        assertFalse(found.out().contains("may still deliver"), found.out());
        Cli.Result missing = Cli.run("blame", "--stream", uri, "--step", "99");
        assertEquals(Main.EXIT_ERROR, missing.exit());
        assertTrue(missing.err().contains("step 99") && missing.err().contains("not committed"), missing.err());
    }
}
