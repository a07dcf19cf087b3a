package io.lakestream.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testkit.sim.ProtocolSim;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The protocol under deterministic simulation: a few thousand seeds per CI run. */
class ProtocolSimTest {
    static final long SEEDS = Long.getLong("lakestream.dst.seeds", 2000);
    static final long FROM = Long.getLong("lakestream.dst.from", 1);

    @Test
    void everySeedKeepsTheInvariants() {
        List<String> failures = new ArrayList<>();
        long ops = 0;
        long steps = 0;
        long crashes = 0;
        long t0 = System.nanoTime();
        for (long s = FROM; s < FROM + SEEDS; s++) {
            ProtocolSim.Result r = ProtocolSim.run(s, false);
            ops += r.storeOps();
            steps += r.steps();
            crashes += r.crashes();
            if (!r.ok()) {
                failures.add(r.line() + "\n  replay: " + r.replay());
                if (failures.size() >= 5) {
                    break;
                }
            }
        }
        System.out.printf("[dst] seeds %d..%d: %d simulated store operations, %d steps, %d crashes in %.1f s%n", FROM, FROM + SEEDS - 1,
                ops, steps, crashes, (System.nanoTime() - t0) / 1e9);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void aSeedReplaysByteForByte() {
        ProtocolSim.Result a = ProtocolSim.run(12345, false);
        ProtocolSim.Result b = ProtocolSim.run(12345, false);
        assertEquals(a.traceHash(), b.traceHash());
        assertEquals(a.line(), b.line());
        assertEquals(a.events(), b.events()); // every resumption of every actor, the readers' threads included
        assertTrue(a.steps() > 0, a.line());
    }
}
