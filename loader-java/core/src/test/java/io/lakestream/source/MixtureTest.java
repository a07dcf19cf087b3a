package io.lakestream.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A mixture of named sources: deterministic by counts, resumable, reset by a new control version. */
class MixtureTest {
    static final Map<String, String> SPECS = Map.of("web", "text:path=/usr/share/common-licenses", "code", "synthetic:records=300,seed=2");

    /** The sub-source number of each sample, and the cursor after each. */
    static List<Integer> subs(Mixture m, int n, List<String> cursors) {
        List<Integer> out = new ArrayList<>();
        SampleBatch b = new SampleBatch(m.seqLen(), 1);
        for (int i = 0; i < n; i++) {
            b.clear();
            if (!m.next(b)) {
                break;
            }
            out.add(RecordIds.sub(b.firstRecord(0)));
            if (cursors != null) {
                cursors.add(m.cursor());
            }
        }
        return out;
    }

    @Test
    void everyPrefixIsWithinOneSampleOfItsShare() {
        try (Mixture m = new Mixture(SPECS, 64, Mixture.parseWeights("web:0.7,code:0.3"))) {
            assertEquals(List.of("code", "web"), m.names(), "sub-source numbers follow the sorted names");
            m.seek(null);
            m.applyControl(0, null);
            List<Integer> s = subs(m, 400, null);
            long[] n = new long[2];
            for (int t = 0; t < s.size(); t++) {
                n[s.get(t)]++;
                assertTrue(Math.abs(n[0] - 0.3 * (t + 1)) < 1 && Math.abs(n[1] - 0.7 * (t + 1)) < 1, "after " + (t + 1) + ": " + n[0]
                        + " code, " + n[1] + " web");
            }
        }
    }

    @Test
    void resumingAtAnyCursorContinuesTheSameSequenceAndANewControlVersionRestartsTheCounts() {
        List<String> cursors = new ArrayList<>();
        List<Integer> full;
        try (Mixture m = new Mixture(SPECS, 64, null)) {
            m.seek(null);
            m.applyControl(3, "web:0.2,code:0.8");
            full = subs(m, 200, cursors);
        }
        for (int k = 0; k < 200; k += 17) {
            try (Mixture m = new Mixture(SPECS, 64, null)) {
                m.seek(cursors.get(k));
                m.applyControl(3, "web:0.2,code:0.8");
                assertEquals(full.subList(k + 1, 200), subs(m, 199 - k, null), "resumed at sample " + k);
            }
        }
        try (Mixture m = new Mixture(SPECS, 64, null)) {
            m.seek(cursors.get(50));
            m.applyControl(4, "web:1,code:1");
            assertEquals(4, m.controlVersion());
            assertEquals(List.of(0, 1, 0, 1), subs(m, 4, null), "counts restart at a new control version: equal weights alternate");
        }
    }

    @Test
    void anExhaustedSourceLeavesTheRestToTheOthers() {
        try (Mixture m = new Mixture(Map.of("a", "synthetic:records=5,seed=1", "b", "synthetic:records=100,seed=1"), 8, null)) {
            m.seek(null);
            m.applyControl(0, null);
            List<Integer> s = subs(m, 30, null);
            assertEquals(5, s.stream().filter(x -> x == 0).count());
            assertEquals(25, s.stream().filter(x -> x == 1).count());
        }
    }

    @Test
    void badMixturesAndChangedSourceSetsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Mixture.parseWeights("web:0.7,web:0.3"));
        assertThrows(IllegalArgumentException.class, () -> Mixture.parseWeights("web:-1"));
        assertThrows(IllegalArgumentException.class, () -> Mixture.parseWeights("web:0"));
        assertThrows(IllegalArgumentException.class, () -> Mixture.parseWeights("web"));
        try (Mixture m = new Mixture(SPECS, 64, null)) {
            m.seek(null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.applyControl(1, "books:1"));
            assertTrue(e.getMessage().contains("none of this producer's sources"), e.getMessage());
            String c = m.cursor();
            try (Mixture other = new Mixture(Map.of("web", "text:path=/usr/share/common-licenses"), 64, null)) {
                IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> other.seek(c));
                assertTrue(x.getMessage().contains("keep its sources"), x.getMessage());
            }
        }
    }

    @Test
    void lineageReadsMixtureCursors() {
        try (Mixture m = new Mixture(SPECS, 64, null)) {
            m.seek(null);
            m.applyControl(0, null);
            String before = m.cursor();
            SampleBatch b = new SampleBatch(64, 8);
            for (int i = 0; i < 8; i++) {
                m.next(b);
            }
            String after = m.cursor();
            for (int i = 0; i < 8; i++) {
                assertTrue(SourceCursors.mayHold(before, true, after, b.firstRecord(i)), "sample " + i);
            }
            long laterCode = RecordIds.of(0, 200);
            assertEquals(Boolean.FALSE, SourceCursors.reached(after, laterCode));
            assertEquals(Boolean.FALSE, SourceCursors.passed(after, laterCode));
            assertEquals(Boolean.TRUE, SourceCursors.passed(after, RecordIds.of(0, 0)));
            assertEquals(Boolean.TRUE, SourceCursors.passed(after, RecordIds.of(9, 0)), "no such sub-source: never pending");
        }
    }
}
