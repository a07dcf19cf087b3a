package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakestream.testing.Cli;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code consume --world-size W' --elastic} on a stream written for W ranks. */
class ElasticCliTest {
    static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void consumeAtAnotherWorldSizeNeedsElasticAndThenCoversEverySampleOnce() throws Exception {
        String uri = "file://" + dir.resolve("s");
        Cli.Result p = Cli.run("produce", "--stream", uri, "--producer", "a", "--world-size", "4", "--micro-batch", "2", "--seq-len", "16",
                "--source", "synthetic:records=50,seed=1");
        assertEquals(0, p.exit(), p.err());
        Cli.Result strict = Cli.run("consume", "--stream", uri, "--rank", "0", "--world-size", "3", "--timeout-s", "1");
        assertEquals(Main.EXIT_ERROR, strict.exit());
        assertTrue(strict.err().contains("world size 4") && strict.err().contains("consume --elastic"), strict.err());
        List<Long> ids = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            Cli.Result c = Cli.run("consume", "--stream", uri, "--rank", Integer.toString(r), "--world-size", "3", "--elastic", "--print",
                    "ids", "--timeout-s", "1");
            assertEquals(0, c.exit(), c.err());
            int steps = 0;
            for (String line : c.out().split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode j = M.readTree(line);
                assertEquals(steps++, j.get("step").asInt());
                assertEquals(r, j.get("rank").asInt());
                j.get("ids").forEach(id -> ids.add(id.asLong()));
            }
            assertEquals(7, steps, "6 steps of 8 and one of 2");
        }
        ids.sort(null);
        assertEquals(50, ids.size());
        for (int i = 0; i < 50; i++) {
            assertEquals(i, ids.get(i));
        }
    }
}
