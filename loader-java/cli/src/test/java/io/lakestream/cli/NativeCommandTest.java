package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.memory.NativeShims;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NativeCommandTest {
    @Test
    void reportsShimAndPinsASlab() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            rc = Main.run("native", "--check", "--mib", "2");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.contains("shim: loaded from " + NativeShims.RESOURCE), out);
        assertTrue(out.contains("pin mode: "), out);
        assertTrue(out.contains("slab: 2 MiB, pin mode "), out);
        if (!NativeShims.require().cudaAvailable()) {
            assertTrue(out.contains("gpu copy: skipped (no CUDA)"), out);
        }
    }
}
