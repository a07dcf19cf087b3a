package io.lakestream.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.TensorBlob;
import io.lakestream.format.TensorData;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Text and JSONL sources on text a Debian package ships (/usr/share/common-licenses): packing and exact resume. */
class PackedTextSourceTest {
    static final Path LICENSES = Path.of("/usr/share/common-licenses");
    static final int L = 512;

    @TempDir
    Path dir;

    /** One run of a source: every sample's tokens and records, and the cursor after each. */
    record Run(List<int[]> tokens, List<long[]> records, List<String> cursors) {}

    static Run drain(SampleSource src, int max) {
        Run r = new Run(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        SampleBatch b = new SampleBatch(src.seqLen(), 1);
        while (r.tokens().size() < max) {
            b.clear();
            if (!src.next(b)) {
                break;
            }
            r.tokens().add(Arrays.copyOfRange(b.tokenArray(), 0, src.seqLen()));
            r.records().add(new long[] {b.firstRecord(0), b.lastRecord(0)});
            r.cursors().add(src.cursor());
        }
        return r;
    }

    /** The regular files (no symbolic links) of the licenses directory, sorted by name. */
    static List<Path> licenseFiles() throws Exception {
        try (Stream<Path> s = Files.list(LICENSES)) {
            return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
    }

    @Test
    void textSourcePacksEveryFileFollowedByAnEndTokenAcrossSampleBoundaries() throws Exception {
        List<Path> files = licenseFiles();
        assertTrue(files.size() >= 5, "test text present: " + files);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        List<Integer> stream = new ArrayList<>();
        List<Long> docOfToken = new ArrayList<>();
        for (int f = 0; f < files.size(); f++) {
            byte[] b = Files.readAllBytes(files.get(f));
            expected.writeBytes(b);
            for (byte x : b) {
                stream.add(x & 0xFF);
                docOfToken.add(RecordIds.document(0, f, 0));
            }
            stream.add(ByteTokenizer.EOD);
            docOfToken.add(RecordIds.document(0, f, 0));
        }
        try (SampleSource src = Sources.open("text:path=" + LICENSES, L)) {
            assertTrue(src.packed());
            Run run = drain(src, Integer.MAX_VALUE);
            assertEquals((stream.size() + L - 1) / L, run.tokens().size(), "samples = ceil(tokens / seq_len)");
            for (int i = 0; i < run.tokens().size(); i++) {
                int[] t = run.tokens().get(i);
                for (int j = 0; j < L; j++) {
                    int k = i * L + j;
                    int want = k < stream.size() ? stream.get(k) : ByteTokenizer.PAD;
                    assertEquals(want, t[j], "sample " + i + " token " + j);
                }
                assertEquals(docOfToken.get(i * L), run.records().get(i)[0], "record_id = document of the first token");
                int lastTok = Math.min((i + 1) * L, stream.size()) - 1;
                assertEquals(docOfToken.get(lastTok), run.records().get(i)[1], "last_record_id = document of the last token");
            }
            assertTrue(run.records().stream().anyMatch(r -> r[0] != r[1]), "some sample holds parts of two documents");
            assertTrue(run.cursors().get(run.cursors().size() - 1).startsWith("text:i=" + files.size() + ","), "ends exhausted");
            assertFalse(src.next(new SampleBatch(L, 1)), "nothing after exhaustion");
        }
    }

    @Test
    void resumingAtAnyCursorYieldsTheSameSamples() throws Exception {
        try (SampleSource full = Sources.open("text:path=" + LICENSES, L)) {
            Run run = drain(full, Integer.MAX_VALUE);
            int midDocument = 0;
            for (int k = 0; k < run.tokens().size(); k += 5) {
                String c = run.cursors().get(k);
                if (!c.contains(",tok=0,")) {
                    midDocument++;
                }
                try (SampleSource resumed = Sources.open("text:path=" + LICENSES, L)) {
                    resumed.seek(c);
                    assertEquals(c, resumed.cursor(), "seek then cursor is the identity");
                    Run rest = drain(resumed, 12);
                    for (int i = 0; i < rest.tokens().size(); i++) {
                        assertArrayEquals(run.tokens().get(k + 1 + i), rest.tokens().get(i), "sample " + (k + 1 + i) + " after resume at " + c);
                        assertArrayEquals(run.records().get(k + 1 + i), rest.records().get(i));
                        assertEquals(run.cursors().get(k + 1 + i), rest.cursors().get(i));
                    }
                }
            }
            assertTrue(midDocument > 10, "most resume points are inside a document (tokens carried over): " + midDocument);
        }
    }

    @Test
    void jsonlSourcePacksOneFieldPerLineWithByteOffsetsAsRecordIdsAndResumes() throws Exception {
        // Paragraphs of the GPL as JSON lines (with a blank line and non-ASCII text in between).
        String gpl = Files.readString(LICENSES.resolve("GPL-3"));
        List<String> paragraphs = Arrays.stream(gpl.split("\n\\s*\n")).filter(p -> !p.isBlank()).limit(60).toList();
        StringBuilder sb = new StringBuilder();
        List<Long> offsets = new ArrayList<>();
        List<byte[]> texts = new ArrayList<>();
        for (int i = 0; i < paragraphs.size(); i++) {
            String text = i == 7 ? paragraphs.get(i) + " — ünïcödé" : paragraphs.get(i);
            offsets.add((long) sb.toString().getBytes(StandardCharsets.UTF_8).length);
            texts.add(text.getBytes(StandardCharsets.UTF_8));
            sb.append(io.lakestream.format.Json.MAPPER.writeValueAsString(Map.of("id", i, "body", text))).append('\n');
            if (i == 3) {
                sb.append("   \n");
            }
        }
        Path file = dir.resolve("gpl.jsonl");
        Files.writeString(file, sb);
        String spec = "jsonl:path=" + file + ",field=body";
        List<Integer> stream = new ArrayList<>();
        for (byte[] t : texts) {
            for (byte x : t) {
                stream.add(x & 0xFF);
            }
            stream.add(ByteTokenizer.EOD);
        }
        int seq = 100;
        try (SampleSource src = Sources.open(spec, seq)) {
            Run run = drain(src, Integer.MAX_VALUE);
            assertEquals((stream.size() + seq - 1) / seq, run.tokens().size());
            for (int i = 0; i < run.tokens().size(); i++) {
                for (int j = 0; j < seq && i * seq + j < stream.size(); j++) {
                    assertEquals(stream.get(i * seq + j), run.tokens().get(i)[j]);
                }
            }
            assertEquals(RecordIds.document(0, 0, offsets.get(0)), run.records().get(0)[0]);
            assertEquals(RecordIds.document(0, 0, offsets.get(offsets.size() - 1)), run.records().get(run.records().size() - 1)[1]);
            for (long[] r : run.records()) {
                assertTrue(offsets.contains(RecordIds.offset(r[0])) && offsets.contains(RecordIds.offset(r[1])),
                        "record ids are the byte offsets of JSON lines");
            }
            for (int k = 0; k < run.tokens().size(); k += 3) {
                try (SampleSource resumed = Sources.open(spec, seq)) {
                    resumed.seek(run.cursors().get(k));
                    Run rest = drain(resumed, Integer.MAX_VALUE);
                    assertEquals(run.tokens().size() - k - 1, rest.tokens().size());
                    for (int i = 0; i < rest.tokens().size(); i++) {
                        assertArrayEquals(run.tokens().get(k + 1 + i), rest.tokens().get(i));
                    }
                }
            }
        }
    }

    @Test
    void badJsonLinesAreReportedWithFileAndLineNumber() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"text\":\"fine\"}\n{\"other\":1}\n");
        try (SampleSource src = Sources.open("jsonl:path=" + file, 64)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> drain(src, 10));
            assertTrue(e.getMessage().contains("bad.jsonl line 2 (byte 16)") && e.getMessage().contains("field 'text' is missing"), e.getMessage());
        }
        Files.writeString(file, "{\"text\":\"fine\"}\n\n{\"text\":\"fine\"}\nnot json\n");
        try (SampleSource src = Sources.open("jsonl:path=" + file, 64)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> drain(src, 10));
            assertTrue(e.getMessage().contains("bad.jsonl line 4 (byte 33): not a JSON line"), e.getMessage());
        }
    }

    @Test
    void partitionsSplitTheFilesDisjointlyAndCompletely() throws Exception {
        int files = licenseFiles().size();
        List<Long> docs = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            try (SampleSource src = Sources.open("text:path=" + LICENSES + ",partition=" + p + "/3", L)) {
                for (long[] r : drain(src, Integer.MAX_VALUE).records()) {
                    assertEquals(p, RecordIds.file(r[0]) % 3, "partition " + p + " reads only its files");
                    for (long d = r[0]; d <= r[1]; d += 1L << RecordIds.OFFSET_BITS) {
                        if (!docs.contains(d)) {
                            docs.add(d);
                        }
                    }
                }
            }
        }
        assertEquals(files, docs.size(), "every file is read by exactly one partition");
    }

    @Test
    void aCursorFromAnotherFileSetIsRefused() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Files.writeString(a.resolve("one.txt"), "first document");
        Files.writeString(a.resolve("two.txt"), "second document");
        String cursor;
        try (SampleSource src = Sources.open("text:path=" + a, 4)) {
            drain(src, 6);
            cursor = src.cursor();
            assertTrue(cursor.contains("file=two.txt"), cursor);
        }
        Files.delete(a.resolve("one.txt"));
        try (SampleSource src = Sources.open("text:path=" + a, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> src.seek(cursor));
            assertTrue(e.getMessage().contains("the source changed"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Sources.open("text:path=" + a + ",colour=blue", 4));
        assertThrows(IllegalArgumentException.class, () -> Sources.open("text:path=" + dir.resolve("nope"), 4));
        assertThrows(IllegalArgumentException.class, () -> Sources.open("text:path=" + a + ",tokenizer=" + a.resolve("t.json"), 4),
                "no tokenizer provider in core");
    }

    @Test
    void syntheticSourceThroughTheSampleInterfaceWritesTheSameShardsAsBefore() {
        SyntheticSource s = new SyntheticSource(50, 7, 1, 3, 16);
        try (SampleSource src = Sources.open("synthetic:records=50,seed=7,partition=1/3", 16)) {
            src.seek(null);
            SampleBatch b = new SampleBatch(16, 6);
            for (int i = 0; i < 6; i++) {
                assertTrue(src.next(b));
            }
            long[] ids = s.take(s.startIndex(), 6);
            assertEquals(SyntheticSource.cursor(s.after(ids[5])), src.cursor());
            List<Map<String, TensorData>> want = s.globalBatch(ids, 4);
            List<Map<String, TensorData>> got = b.shards(4, src.packed());
            for (int r = 0; r < 4; r++) {
                assertArrayEquals(TensorBlob.encode(want.get(r)), TensorBlob.encode(got.get(r)), "rank " + r);
            }
        }
    }
}
