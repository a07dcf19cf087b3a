package io.lakestream.source;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/**
 * Opens a built-in source from its spec (the CLI's {@code --source}):
 * <ul>
 *   <li>{@code synthetic:records=N,seed=S[,partition=P/Q]}</li>
 *   <li>{@code text:path=DIR_OR_FILE[,glob=G][,partition=P/Q][,tokenizer=PATH][,eod=ID][,pad=ID]}: every file is
 *       one document</li>
 *   <li>{@code jsonl:path=FILE_OR_DIR[,field=text][,glob=G][,partition=P/Q][,tokenizer=PATH][,eod=ID][,pad=ID]}:
 *       every non-blank line is a JSON object whose {@code field} is one document</li>
 * </ul>
 * Text and JSONL documents are tokenised (bytes by default; {@code tokenizer=} a Hugging Face
 * {@code tokenizer.json} when a {@link TokenizerProvider} is on the class path) and packed into
 * {@code seqLen}-token samples; with {@code partition=P/Q} a producer takes the files {@code i}
 * with {@code i mod Q = P}.
 */
public final class Sources {
    private Sources() {}

    public static final String SPECS = "synthetic:records=N,seed=S[,partition=P/Q] | text:path=DIR_OR_FILE[,glob=G][,partition=P/Q]"
            + "[,tokenizer=tokenizer.json] | jsonl:path=FILE[,field=text][,glob=G][,partition=P/Q][,tokenizer=tokenizer.json]";

    public static SampleSource open(String spec, int seqLen) {
        return open(spec, seqLen, 0);
    }

    /** Opens {@code spec}; {@code sub} is its index inside a mixture (record ids carry it), else 0. */
    public static SampleSource open(String spec, int seqLen, int sub) {
        if (spec == null) {
            throw new IllegalArgumentException("no --source given (supported: " + SPECS + ")");
        }
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? spec : spec.substring(0, colon);
        switch (kind) {
            case "synthetic":
                return new SyntheticSampleSource(SyntheticSource.parse(spec, seqLen), sub);
            case "text":
            case "jsonl": {
                Map<String, String> f = fields(spec.substring(colon + 1), kind.equals("text")
                        ? Set.of("path", "glob", "partition", "tokenizer", "eod", "pad")
                        : Set.of("path", "field", "glob", "partition", "tokenizer", "eod", "pad"));
                String path = f.get("path");
                if (path == null || path.isEmpty()) {
                    throw new IllegalArgumentException("--source " + kind + " needs path=DIR_OR_FILE");
                }
                int[] pq = partition(f.getOrDefault("partition", "0/1"));
                Corpus c = Corpus.open(kind.equals("text") ? Corpus.Kind.TEXT : Corpus.Kind.JSONL, Path.of(path), f.get("glob"),
                        pq[0], pq[1], f.getOrDefault("field", "text"));
                return new PackedTextSource(c, tokenizer(f), seqLen, sub);
            }
            default:
                throw new IllegalArgumentException("unknown --source '" + spec + "' (supported: " + SPECS + ")");
        }
    }

    private static Tokenizer tokenizer(Map<String, String> f) {
        String t = f.get("tokenizer");
        if (t == null || t.equals("bytes")) {
            if (f.containsKey("eod") || f.containsKey("pad")) {
                throw new IllegalArgumentException("--source eod= and pad= apply to tokenizer= only (the byte tokenizer's are "
                        + ByteTokenizer.EOD + " and " + ByteTokenizer.PAD + ")");
            }
            return ByteTokenizer.INSTANCE;
        }
        for (TokenizerProvider p : ServiceLoader.load(TokenizerProvider.class)) {
            return p.open(Path.of(t), f);
        }
        throw new IllegalArgumentException("--source tokenizer=" + t + " needs a tokenizer provider on the class path (the"
                + " lakestream CLI brings one for Hugging Face tokenizer.json files; lakestream-core alone has only bytes)");
    }

    static int[] partition(String v) {
        String[] pq = v.split("/");
        try {
            if (pq.length == 2) {
                int p = Integer.parseInt(pq[0]);
                int q = Integer.parseInt(pq[1]);
                if (q >= 1 && p >= 0 && p < q) {
                    return new int[] {p, q};
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--source partition must be P/Q with 0 <= P < Q, got '" + v + "'");
    }

    /** {@code k=v,k=v} with only the {@code allowed} keys. */
    static Map<String, String> fields(String s, Set<String> allowed) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : s.split(",")) {
            if (kv.isBlank()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--source field '" + kv + "' is not key=value");
            }
            String k = kv.substring(0, eq);
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("unknown --source field '" + k + "' (allowed: " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
            m.put(k, kv.substring(eq + 1));
        }
        return m;
    }
}
