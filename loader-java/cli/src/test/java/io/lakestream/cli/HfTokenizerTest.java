package io.lakestream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.format.Json;
import io.lakestream.source.SampleBatch;
import io.lakestream.source.SampleSource;
import io.lakestream.source.Sources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Hugging Face tokenizer.json (a word-level one built here from the license texts: nothing is
 * downloaded) through DJL's tokenizers, packing /usr/share/common-licenses, resumed mid-document.
 */
class HfTokenizerTest {
    /** The Whitespace pre-tokenizer's pattern, as the tokenizers library defines it. */
    static final Pattern WORDS = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);
    static final Path TEXT = Path.of("/usr/share/common-licenses");

    @TempDir
    Path dir;

    private Path tokenizer(Map<String, Integer> vocab) throws Exception {
        vocab.put("[UNK]", 0);
        vocab.put("<|endoftext|>", 1);
        for (String f : List.of("GPL-3", "Apache-2.0")) {
            Matcher m = WORDS.matcher(Files.readString(TEXT.resolve(f)));
            while (m.find()) {
                vocab.putIfAbsent(m.group(), vocab.size());
            }
        }
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        var added = t.putArray("added_tokens");
        for (String s : List.of("[UNK]", "<|endoftext|>")) {
            added.addObject().put("id", vocab.get(s)).put("content", s).put("single_word", false).put("lstrip", false).put("rstrip", false)
                    .put("normalized", false).put("special", true);
        }
        t.putNull("normalizer");
        t.putObject("pre_tokenizer").put("type", "Whitespace");
        t.putNull("post_processor");
        t.putNull("decoder");
        ObjectNode model = t.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.put("unk_token", "[UNK]");
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, t.toString());
        return p;
    }

    private static List<int[]> drain(SampleSource src, List<String> cursors) {
        List<int[]> out = new ArrayList<>();
        SampleBatch b = new SampleBatch(src.seqLen(), 1);
        while (true) {
            b.clear();
            if (!src.next(b)) {
                return out;
            }
            out.add(java.util.Arrays.copyOf(b.tokenArray(), src.seqLen()));
            cursors.add(src.cursor());
        }
    }

    @Test
    void wordLevelTokenizerJsonPacksTheTextsAndResumesMidDocument() throws Exception {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        Path tok = tokenizer(vocab);
        Path docs = Files.createDirectories(dir.resolve("docs"));
        Files.copy(TEXT.resolve("GPL-3"), docs.resolve("a-GPL-3"));
        Files.copy(TEXT.resolve("BSD"), docs.resolve("b-BSD"));
        List<Integer> expected = new ArrayList<>();
        for (String f : List.of("a-GPL-3", "b-BSD")) {
            Matcher m = WORDS.matcher(Files.readString(docs.resolve(f)));
            while (m.find()) {
                expected.add(vocab.getOrDefault(m.group(), 0));
            }
            expected.add(1);
        }
        String spec = "text:path=" + docs + ",tokenizer=" + tok;
        int seq = 100;
        List<String> cursors = new ArrayList<>();
        List<int[]> samples;
        try (SampleSource src = Sources.open(spec, seq)) {
            assertTrue(src.describe().contains("Hugging Face") && src.describe().contains("end-of-document 1"), src.describe());
            samples = drain(src, cursors);
        }
        assertEquals((expected.size() + seq - 1) / seq, samples.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals((int) expected.get(i), samples.get(i / seq)[i % seq], "token " + i);
        }
        assertTrue(expected.contains(0) && expected.indexOf(0) > expected.indexOf(1), "BSD words unknown to the vocabulary map to [UNK]");
        for (int k = 0; k < samples.size() - 1; k += 9) {
            try (SampleSource again = Sources.open(spec, seq)) {
                again.seek(cursors.get(k));
                List<int[]> rest = drain(again, new ArrayList<>());
                assertEquals(samples.size() - k - 1, rest.size());
                for (int i = 0; i < rest.size(); i++) {
                    assertArrayEquals(samples.get(k + 1 + i), rest.get(i), "resumed at " + cursors.get(k));
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Sources.open("text:path=" + docs + ",tokenizer=" + dir.resolve("none.json"), 8));
        assertThrows(IllegalArgumentException.class, () -> Sources.open(spec + ",eod=-3", 8));
    }
}
