package io.lakestream.cli;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.lakestream.source.Tokenizer;
import io.lakestream.source.TokenizerProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face {@code tokenizer.json} files for the text and JSONL sources, through DJL's
 * tokenizers (Rust, native library inside the jar). Lives in the CLI so that lakestream-core
 * needs no tokenizer library. Options: {@code eod=ID} (default: the id of the first of
 * {@code <|endoftext|>}, {@code </s>}, {@code <eos>}, {@code [SEP]} the tokenizer knows as one
 * token), {@code pad=ID} (default: the end-of-document id).
 */
public final class HfTokenizerProvider implements TokenizerProvider {
    private static final List<String> EOD_CANDIDATES = List.of("<|endoftext|>", "</s>", "<eos>", "[SEP]");

    @Override
    public Tokenizer open(Path path, Map<String, String> options) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("--source tokenizer=" + path + " is not a file (a Hugging Face tokenizer.json)");
        }
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.builder().optTokenizerPath(path).optAddSpecialTokens(false).optTruncation(false)
                    .optPadding(false).build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load tokenizer " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot load tokenizer " + path + ": " + e.getMessage(), e);
        }
        int eod = options.containsKey("eod") ? parseId("eod", options.get("eod")) : defaultEod(hf, path);
        int pad = options.containsKey("pad") ? parseId("pad", options.get("pad")) : eod;
        return new Hf(hf, path, eod, pad);
    }

    private static int parseId(String what, String v) {
        try {
            int id = Integer.parseInt(v);
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("--source " + what + "= must be a token id >= 0, got '" + v + "'");
    }

    private static int defaultEod(HuggingFaceTokenizer hf, Path path) {
        for (String t : EOD_CANDIDATES) {
            Encoding e = hf.encode(t, false, false);
            long[] ids = e.getIds();
            if (ids.length == 1 && t.equals(e.getTokens()[0])) {
                return (int) ids[0];
            }
        }
        throw new IllegalArgumentException("tokenizer " + path + " has none of " + EOD_CANDIDATES + " as one token: give eod=ID");
    }

    private record Hf(HuggingFaceTokenizer hf, Path path, int eod, int pad) implements Tokenizer {
        @Override
        public int[] encode(byte[] utf8) {
            long[] ids = hf.encode(new String(utf8, StandardCharsets.UTF_8), false, false).getIds();
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                out[i] = Math.toIntExact(ids[i]);
            }
            return out;
        }

        @Override
        public String describe() {
            return "Hugging Face " + path + " (end-of-document " + eod + ", padding " + pad + ")";
        }
    }
}
