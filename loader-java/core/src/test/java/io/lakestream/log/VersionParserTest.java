package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lakestream.StreamEnv;
import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.ShardTable;
import io.lakestream.format.TensorData;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.FileStore;
import io.lakestream.stream.Lakestream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The follower's streaming parse of a manifest version ({@link VersionParser}) against data
 * binding, the reference: on what committers write it must be taken and give the same version;
 * on anything else it must give up or agree; never may it accept what data binding refuses or
 * read a field differently. Seeded, so a failure names a replayable case.
 */
class VersionParserTest {
    private static final int DOCUMENTS = 400;
    private static final int MUTATIONS_PER_DOCUMENT = 12;

    @TempDir
    Path dir;

    @Test
    void everyVersionARealProducerAndACheckpointWriteTakesTheFastPathAndReadsAsDataBindingReadsIt() throws Exception {
        String uri = "file://" + dir.resolve("s");
        try (FileStore store = FileStore.open(dir.resolve("s"), true);
             TgbProducer p = TgbProducer.open(store, "prep-0", StreamConfig.of(4).withRetention(2, 0), ProducerOptions.defaults())) {
            for (int i = 0; i < 6; i++) {
                List<Map<String, TensorData>> batch = new ArrayList<>();
                for (int r = 0; r < 4; r++) {
                    batch.add(Map.of("tokens", new TensorData(DType.I32, new long[] {2, 3 + r}, new byte[4 * 2 * (3 + r)])));
                }
                p.append(batch, i % 2 == 0 ? null : "{\"batch\":" + i + ",\"note\":\"é \\\"q\\\"\"}");
                p.commit();
            }
        }
        try (Lakestream s = Lakestream.open(uri, StreamEnv.defaults())) {
            s.recordCheckpoint(2, "ck-2");
            s.recordCheckpoint(4, "ck-4", "eval");
        }
        List<Path> versions;
        try (Stream<Path> files = Files.list(dir.resolve("s/_log"))) {
            versions = files.filter(f -> f.getFileName().toString().matches("[0-9]{20}\\.json")).sorted().toList();
        }
        assertTrue(versions.size() >= 3, "versions written: " + versions);
        for (Path f : versions) {
            byte[] b = Files.readAllBytes(f);
            VersionFile fast = VersionParser.tryParse(b);
            assertNotNull(fast, "the common shape, as a committer writes it, takes the fast path: " + f.getFileName() + " "
                    + new String(b, StandardCharsets.UTF_8));
            assertSame(Json.read(b, VersionFile.class, f.toString()), fast, f.getFileName().toString());
        }
    }

    @Test
    void generatedVersionsReadAsDataBindingReadsThemAndTheRareFieldsGoToDataBinding() {
        Random rnd = new Random(20261207L);
        int fast = 0;
        for (int i = 0; i < DOCUMENTS; i++) {
            boolean rare = i % 4 == 3;
            VersionFile v = generate(rnd, rare);
            byte[] b = Json.write(v);
            VersionFile reference = Json.read(b, VersionFile.class, "case " + i);
            VersionFile f = VersionParser.tryParse(b);
            if (rare && usesRareFields(v)) {
                assertNull(f, "case " + i + ": a rare field is left to data binding: " + new String(b, StandardCharsets.UTF_8));
            } else {
                assertNotNull(f, "case " + i + ": " + new String(b, StandardCharsets.UTF_8));
                fast++;
            }
            assertSame(reference, VersionParser.parse(b, () -> "case"), "case " + i);
        }
        assertTrue(fast >= DOCUMENTS / 2, "most generated versions take the fast path: " + fast);
    }

    @Test
    void aMutatedVersionIsReadAsDataBindingReadsItOrLeftToIt() {
        Random rnd = new Random(7L);
        int taken = 0;
        int refused = 0;
        for (int i = 0; i < DOCUMENTS; i++) {
            String doc = new String(Json.write(generate(rnd, false)), StandardCharsets.UTF_8);
            for (int m = 0; m < MUTATIONS_PER_DOCUMENT; m++) {
                String mutated = mutate(doc, rnd);
                byte[] b = mutated.getBytes(StandardCharsets.UTF_8);
                String where = "case " + i + "/" + m + ": " + mutated;
                VersionFile reference;
                try {
                    reference = Json.read(b, VersionFile.class, "x");
                } catch (FormatException e) {
                    refused++;
                    assertNull(VersionParser.tryParse(b), "data binding refuses it, so the fast path must not take it: " + where);
                    FormatException again = assertThrows(FormatException.class, () -> VersionParser.parse(b, () -> "manifest version v"));
                    assertTrue(again.getMessage().startsWith("malformed manifest version v"), again.getMessage());
                    continue;
                }
                VersionFile f = VersionParser.tryParse(b);
                if (f != null) {
                    taken++;
                    assertSame(reference, f, where);
                }
            }
        }
        assertTrue(taken > 100 && refused > 100, "the mutations reach both sides: taken " + taken + ", refused " + refused);
    }

    @Test
    void unusualButValidFormsAreLeftToDataBinding() {
        String base = "{\"version\":3,\"commit_token\":\"t\",\"first_step\":5";
        for (String tail : new String[] {
                ",\"timestamp_millis\":null}", // null reads as 0 in data binding
                ",\"version\":4}", // repeated: data binding keeps the last
                ",\"unknown\":1}", // a newer writer's field
                ",\"producers\":{\"p\":{\"epoch\":1.0,\"seq\":2}}}", // a float where an integer belongs
                ",\"producers\":{\"p\":{\"epoch\":1,\"seq\":2,\"cursor\":7}}}", // a number where a string belongs
                ",\"tgbs\":[]} {}", // trailing content
                ",\"end_of_stream\":true}",
                ",\"reclaimed_below_step\":4}"}) {
            byte[] b = (base + tail).getBytes(StandardCharsets.UTF_8);
            assertNull(VersionParser.tryParse(b), base + tail);
            assertEquals(Json.read(b, VersionFile.class, "x"), VersionParser.parse(b, () -> "x"), base + tail);
        }
        byte[] plain = (base + "}").getBytes(StandardCharsets.UTF_8);
        assertEquals(new VersionFile(3, "t", null, 0, 5, null, null, null, null), VersionParser.tryParse(plain));
    }

    // ------------------------------------------------------------------ generation

    private static boolean usesRareFields(VersionFile v) {
        if (v.reclaimedBelowStep() != null || v.endOfStream() != null || !v.controls().isEmpty()) {
            return true;
        }
        for (TgbEntry e : v.tgbs()) {
            if (!(e.shards() instanceof ShardTable) || e.control() != null || e.recordRange() != null) {
                return true;
            }
        }
        return false;
    }

    private static VersionFile generate(Random rnd, boolean rare) {
        Map<String, ProducerState> producers = new LinkedHashMap<>();
        int np = rnd.nextInt(4);
        for (int i = 0; i < np; i++) {
            producers.put(text(rnd, "p" + i), new ProducerState(1 + rnd.nextInt(5), rnd.nextInt(1000), rnd.nextBoolean() ? null : text(rnd, "c")));
        }
        List<TgbEntry> tgbs = new ArrayList<>();
        int nt = rnd.nextInt(5);
        for (int i = 0; i < nt; i++) {
            tgbs.add(entry(rnd, rare));
        }
        List<CheckpointRecord> checkpoints = new ArrayList<>();
        for (int i = rnd.nextInt(3); i > 0; i--) {
            checkpoints.add(new CheckpointRecord(rnd.nextInt(10_000), rnd.nextBoolean() ? null : text(rnd, "ck"), rnd.nextLong() >>> 20,
                    rnd.nextBoolean() ? null : text(rnd, "consumer"), rnd.nextInt(4) == 0 ? Boolean.valueOf(rnd.nextBoolean()) : null));
        }
        Long reclaimed = rare && rnd.nextBoolean() ? (long) rnd.nextInt(100) : null;
        Boolean end = rare && rnd.nextInt(4) == 0 ? Boolean.TRUE : null;
        List<ControlRecord> controls = rare && rnd.nextInt(4) == 0
                ? List.of(new ControlRecord(1, 10, Map.of("mix", "a=1"), "id", 5)) : null;
        return new VersionFile(rnd.nextInt(1 << 20), text(rnd, "token"), rnd.nextBoolean() ? null : text(rnd, "prep"),
                rnd.nextLong() >>> 22, rnd.nextInt(1 << 20), producers, tgbs, checkpoints, reclaimed, end, controls);
    }

    private static TgbEntry entry(Random rnd, boolean rare) {
        int w = 1 + rnd.nextInt(8);
        boolean lz4 = rnd.nextBoolean();
        boolean headers = rnd.nextBoolean();
        boolean uniform = rnd.nextBoolean();
        List<ShardEntry> shards = new ArrayList<>();
        long offset = 0;
        long sample = 0;
        for (int r = 0; r < w; r++) {
            long len = uniform ? 4096 : 1000 + rnd.nextInt(5000);
            long samples = uniform ? 4 : rnd.nextInt(6);
            long raw = lz4 ? len * (1 + rnd.nextInt(3)) : len;
            shards.add(headers
                    ? new ShardEntry(offset, len, rnd.nextLong() & 0xFFFF_FFFFL, raw, samples, sample, 200L + rnd.nextInt(50), rnd.nextLong() & 0xFFFF_FFFFL)
                    : new ShardEntry(offset, len, rnd.nextLong() & 0xFFFF_FFFFL, raw, samples, sample));
            offset += len + (rare && rnd.nextInt(8) == 0 ? 16 : 0); // a gap: not back to back, stays per shard
            sample += samples;
        }
        ShardTable table = ShardTable.of(shards);
        String producer = "prep-" + rnd.nextInt(3);
        long epoch = 1 + rnd.nextInt(4);
        long seq = 1 + rnd.nextInt(500);
        Long control = rare && rnd.nextInt(4) == 0 ? 1L : null;
        RecordRange range = rare && rnd.nextInt(4) == 0 ? new RecordRange(10L, 20L) : null;
        return new TgbEntry(producer, epoch, seq, rnd.nextBoolean() ? null : text(rnd, "{\"batch\":" + seq + "}"),
                StreamLayout.batchObjectKey(producer, epoch, seq), offset + rnd.nextInt(100), lz4 ? "lz4" : "none",
                table != null ? table : List.copyOf(shards), control, range);
    }

    /** A string, sometimes with what JSON must escape or encode. */
    private static String text(Random rnd, String base) {
        return switch (rnd.nextInt(5)) {
            case 0 -> base + "\"q\"\\";
            case 1 -> base + "é\u2028\uD83D\uDE00";
            case 2 -> base + "\n\t\u0001";
            default -> base + rnd.nextInt(100);
        };
    }

    // ------------------------------------------------------------------ mutation

    private static final String[] VALUES = {"null", "1.0", "-0", "1e2", "\"7\"", "99999999999999999999", "true", "[]", "{}",
            "\"x\"", "-1", "0"};

    private static String mutate(String doc, Random rnd) {
        int at = rnd.nextInt(doc.length());
        switch (rnd.nextInt(7)) {
            case 0: { // replace a value after some colon
                int colon = doc.indexOf(':', at);
                if (colon < 0) {
                    return doc.substring(0, at);
                }
                int end = valueEnd(doc, colon + 1);
                return doc.substring(0, colon + 1) + VALUES[rnd.nextInt(VALUES.length)] + doc.substring(end);
            }
            case 1: { // an unknown or a repeated field after some '{'
                int brace = doc.indexOf('{', at);
                if (brace < 0) {
                    return doc + " ";
                }
                String field = rnd.nextBoolean() ? "\"extra\":1," : "\"" + pickName(doc, rnd) + "\":" + VALUES[rnd.nextInt(VALUES.length)] + ",";
                return doc.substring(0, brace + 1) + field + doc.substring(brace + 1);
            }
            case 2: // delete a field name's quote or a stretch
                return doc.substring(0, at) + doc.substring(Math.min(doc.length(), at + 1 + rnd.nextInt(12)));
            case 3: // truncate
                return doc.substring(0, at);
            case 4: // trailing content
                return doc + (rnd.nextBoolean() ? " {}" : "x");
            case 5: { // remove a field: "name":value,
                int q = doc.indexOf(",\"", at);
                if (q < 0) {
                    return doc;
                }
                int colon = doc.indexOf(':', q);
                int end = valueEnd(doc, colon + 1);
                return doc.substring(0, q) + doc.substring(end);
            }
            default: { // swap two digits' places: a different but well-formed number
                int d = at;
                while (d < doc.length() && !Character.isDigit(doc.charAt(d))) {
                    d++;
                }
                return d >= doc.length() ? doc : doc.substring(0, d) + (char) ('0' + rnd.nextInt(10)) + doc.substring(d + 1);
            }
        }
    }

    private static String pickName(String doc, Random rnd) {
        String[] names = {"version", "commit_token", "first_step", "producers", "tgbs", "checkpoints", "epoch", "seq", "cursor",
                "shard_table", "crc32c", "length", "total_samples", "step", "id", "removed", "object_size"};
        return names[rnd.nextInt(names.length)];
    }

    /** The end of the JSON value starting at {@code from} (a scalar, string, array or object), roughly. */
    private static int valueEnd(String doc, int from) {
        int depth = 0;
        boolean str = false;
        for (int i = from; i < doc.length(); i++) {
            char c = doc.charAt(i);
            if (str) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    str = false;
                    if (depth == 0) {
                        return i + 1;
                    }
                }
            } else if (c == '"') {
                str = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    return i;
                }
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return doc.length();
    }

    // ------------------------------------------------------------------ comparison

    /** Equal versions, and for every entry's compact table the same verdict (a malformed table's reason included). */
    private static void assertSame(VersionFile expected, VersionFile actual, String where) {
        assertEquals(expected, actual, where);
        for (int i = 0; i < expected.tgbs().size(); i++) {
            List<ShardEntry> a = expected.tgbs().get(i).shards();
            List<ShardEntry> b = actual.tgbs().get(i).shards();
            if (a instanceof ShardTable ta) {
                if (!(b instanceof ShardTable tb)) {
                    fail(where + ": entry " + i + " is a table in one and not the other");
                    return;
                }
                for (Codec c : Codec.values()) {
                    assertEquals(ta.check(ta.size(), Long.MAX_VALUE / 4, c, 256), tb.check(tb.size(), Long.MAX_VALUE / 4, c, 256), where);
                }
            }
        }
    }
}
