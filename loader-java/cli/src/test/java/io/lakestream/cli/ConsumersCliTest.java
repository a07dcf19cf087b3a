package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.testing.Cli;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code checkpoint --consumer} below the floor, as a user registers a reference run late, and what {@code inspect} and {@code gc} say. */
class ConsumersCliTest {
    static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    private static JsonNode inspect(String uri) throws Exception {
        Cli.Result r = Cli.run("inspect", "--stream", uri, "--json");
        assertEquals(0, r.exit(), r.err());
        return M.readTree(r.out());
    }

    @Test
    void aConsumerRegisteredBelowTheFloorIsListedAndHoldsGcUntilRemoved() throws Exception {
        String uri = "file://" + dir.resolve("s");
        Cli.Result p = Cli.run("produce", "--stream", uri, "--producer", "p", "--world-size", "1", "--micro-batch", "2",
                "--seq-len", "8", "--source", "synthetic:records=40,seed=1");
        assertEquals(0, p.exit(), p.err());
        for (String step : new String[] {"4", "8", "12"}) {
            assertEquals(0, Cli.run("checkpoint", "--stream", uri, "--step", step).exit());
        }
        assertEquals(8, inspect(uri).get("floor_step").asLong());

        Cli.Result reg = Cli.run("checkpoint", "--stream", uri, "--consumer", "reference", "--step", "0");
        assertEquals(0, reg.exit(), reg.err());
        assertTrue(reg.out().contains("\"recorded\":true") && reg.out().contains("\"floor_step\":0"), reg.out());
        JsonNode s = inspect(uri);
        assertEquals(0, s.get("floor_step").asLong());
        assertEquals("[0]", s.get("consumers").get("reference").get("steps").toString());
        Cli.Result table = Cli.run("inspect", "--stream", uri);
        assertTrue(table.out().contains("reference") && table.out().contains("checkpoints at steps [0 (step-0)]"), table.out());
        Cli.Result gc = Cli.run("gc", "--stream", uri);
        assertEquals(0, gc.exit(), gc.err());
        assertTrue(gc.err().contains("0 batches below the floor"), gc.err());

        assertEquals(0, Cli.run("checkpoint", "--stream", uri, "--consumer", "reference", "--remove").exit());
        gc = Cli.run("gc", "--stream", uri);
        assertTrue(gc.err().contains("floor step 8") && gc.err().contains("8 batches below the floor"), gc.err());
        Cli.Result late = Cli.run("checkpoint", "--stream", uri, "--consumer", "late", "--step", "3");
        assertEquals(Main.EXIT_ERROR, late.exit(), late.out());
        assertTrue(late.err().contains("cannot register consumer 'late' at step 3")
                && late.err().contains("the lowest step still readable is 8"), late.err());
        assertEquals(8, inspect(uri).get("reclaimed_below_step").asLong());
    }
}
