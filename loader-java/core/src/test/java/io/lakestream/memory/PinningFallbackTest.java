package io.lakestream.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The fallback chain CUDA -> mlock -> unpinned, forced with the shim's test switches. The shim
 * reads them once per process, so each case runs {@link PinProbe} in a child JVM.
 */
class PinningFallbackTest {
    private static final String WARNING = "are NOT pinned";

    record Run(int exit, String out, String err) {}

    @Test
    void cudaAbsentFallsBackToMlock() throws Exception {
        Run r = probe(Map.of("LS_SHIMS_DISABLE_CUDA", "1"));
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("pinner=ShimPinner"), r.out);
        assertTrue(r.out.contains("describe=MLOCK (mlock (CUDA disabled by LS_SHIMS_DISABLE_CUDA))"), r.out);
        // Where mlock is refused (non-root with a small `ulimit -l`) the slabs are unpinned, and it is said once.
        if (r.out.contains("pool=MLOCK")) {
            assertTrue(r.out.contains("leases=MLOCK,MLOCK,MLOCK sum=6"), r.out);
            assertEquals(0, count(r.err, WARNING), r.err);
        } else {
            assertTrue(r.out.contains("pool=NONE"), r.out);
            assertEquals(1, count(r.err, WARNING), r.err);
        }
    }

    @Test
    void mlockDisabledLeavesSlabsUnpinnedWithOneWarning() throws Exception {
        Run r = probe(Map.of("LS_SHIMS_DISABLE_CUDA", "1", "LS_SHIMS_DISABLE_MLOCK", "1"));
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("pool=NONE slabs=3 leases=NONE,NONE,NONE sum=6"), r.out);
        assertTrue(r.out.contains("describe=NONE (unpinned (CUDA disabled by LS_SHIMS_DISABLE_CUDA; mlock disabled by "
                + "LS_SHIMS_DISABLE_MLOCK))"), r.out);
        assertEquals(1, count(r.err, WARNING), "three unpinned slabs, one warning:\n" + r.err);
        assertTrue(r.err.contains("LS_SHIMS_DISABLE_MLOCK"), "the warning says why:\n" + r.err);
    }

    @Test
    void shimThatCannotLoadFallsBackToNoneWithoutCrashing() throws Exception {
        Run r = probe(Map.of(), "-D" + NativeShims.LIBRARY_PROPERTY + "=/nonexistent/libls_shims.so");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("pool=NONE slabs=3 leases=NONE,NONE,NONE sum=6"), r.out);
        assertTrue(r.out.contains("describe=NONE (native shim unavailable"), r.out);
        assertEquals(1, count(r.err, "native shim unavailable"), r.err);
    }

    private static Run probe(Map<String, String> env, String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx128m");
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PinProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("LS_SHIMS_DISABLE_CUDA");
        pb.environment().remove("LS_SHIMS_DISABLE_MLOCK");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        // Both pipes are small (a few lines), so reading them one after the other cannot dead-lock.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("probe did not finish");
        }
        return new Run(p.exitValue(), out, err);
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
