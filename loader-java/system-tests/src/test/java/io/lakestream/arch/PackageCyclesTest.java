package io.lakestream.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.reader.RankReader;
import io.lakestream.store.ObjectStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The core's packages depend on each other one way: jdeps over the compiled classes, then no
 * strongly connected component of more than one package. A cycle (say the stream handle placed
 * in {@code io.lakestream}, which every package imports for {@code StreamEnv}, while it imports
 * the reader) fails here with the packages that form it.
 */
class PackageCyclesTest {
    @Test
    void coresPackagesFormNoCycle() throws Exception {
        Path core = Path.of(ObjectStore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertEquals(core, Path.of(RankReader.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        Map<String, Set<String>> deps = packageDeps(core);
        assertTrue(deps.size() >= 10, "jdeps saw the core's packages: " + deps.keySet());
        List<Set<String>> cycles = cycles(deps);
        assertTrue(cycles.isEmpty(), "package cycles in the core: " + cycles);
    }

    /** {@code io.lakestream.*} package → the {@code io.lakestream.*} packages it uses, from jdeps. */
    static Map<String, Set<String>> packageDeps(Path classes) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:package", "-filter:none",
                classes.toString());
        assertEquals(0, rc, out.toString());
        Map<String, Set<String>> deps = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[0].startsWith("io.lakestream") && f[2].startsWith("io.lakestream")) {
                deps.computeIfAbsent(f[0], k -> new TreeSet<>());
                if (!f[0].equals(f[2])) {
                    deps.get(f[0]).add(f[2]);
                }
            }
        }
        return deps;
    }

    /** Strongly connected components of more than one node (Tarjan, iterative over the small graph). */
    static List<Set<String>> cycles(Map<String, Set<String>> g) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        int[] next = {0};
        for (String v : g.keySet()) {
            if (!index.containsKey(v)) {
                connect(v, g, index, low, stack, onStack, out, next);
            }
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> g, Map<String, Integer> index, Map<String, Integer> low,
            Deque<String> stack, Set<String> onStack, List<Set<String>> out, int[] next) {
        index.put(v, next[0]);
        low.put(v, next[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, g, index, low, stack, onStack, out, next);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> comp = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                comp.add(w);
            } while (!w.equals(v));
            if (comp.size() > 1) {
                out.add(comp);
            }
        }
    }

    @Test
    void theCycleCheckFindsACycle() {
        Map<String, Set<String>> g = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d",
                Set.of("a")));
        assertEquals(List.of(new TreeSet<>(Set.of("a", "b", "c"))), cycles(g));
    }
}
