package io.lakestream.source;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Packs the documents of a text or JSONL corpus into fixed-length samples: each document's
 * tokens followed by an end-of-document token, concatenated, cut every {@code seqLen} tokens (a
 * document may span samples, a sample may hold several documents). Only the source's very last
 * sample is padded.
 *
 * <p>The cursor is a position in that token stream: {@code <kind>:i=<file>,off=<byte offset of
 * the document>,tok=<tokens of it already delivered>,file=<relative path>}. Resuming re-reads
 * the document at {@code off} and skips {@code tok} tokens, so the tokens carried over from a
 * document cut by a sample boundary are regenerated, not stored: the samples after a restart
 * are byte-identical to an uninterrupted run's.
 */
public final class PackedTextSource implements SampleSource {
    private final Corpus corpus;
    private final Tokenizer tokenizer;
    private final int seqLen;
    private final int sub;
    private final int[] row;
    private Documents docs;
    // the position when no document is open: the next document at or after (file, offset)
    private int file;
    private long offset;
    private long skip; // tokens of that document already delivered (a resumed cursor)
    private Documents.Doc cur;
    private Documents.DocTokens curTokens;
    private long curTok;

    PackedTextSource(Corpus corpus, Tokenizer tokenizer, int seqLen, int sub) {
        if (seqLen < 1) {
            throw new IllegalArgumentException("seq-len must be >= 1");
        }
        this.corpus = corpus;
        this.tokenizer = tokenizer;
        this.seqLen = seqLen;
        this.sub = sub;
        this.row = new int[seqLen];
        seek(null);
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public boolean packed() {
        return true;
    }

    @Override
    public void seek(String cursor) {
        closeDocs();
        if (cursor == null) {
            file = corpus.fileAtOrAfter(0);
            offset = 0;
            skip = 0;
        } else {
            Position p = Position.parse(cursor, corpus.kind.id);
            if (p.file < corpus.size() ? !corpus.names.get(p.file).equals(p.name) : !p.name.isEmpty()) {
                throw new IllegalArgumentException("cursor '" + cursor + "' names file #" + p.file + " '" + p.name + "' but the "
                        + describe() + " has " + (p.file < corpus.size() ? "'" + corpus.names.get(p.file) + "'" : "only "
                        + corpus.size() + " files") + " there: the source changed since the cursor was committed");
            }
            file = p.file;
            offset = p.offset;
            skip = p.tokens;
        }
        docs = new Documents(corpus, file, offset);
    }

    @Override
    public boolean next(SampleBatch out) {
        int filled = 0;
        long first = -1;
        long last = -1;
        while (filled < seqLen) {
            if (cur == null && !open()) {
                break;
            }
            int n = curTokens.read(row, filled, seqLen - filled);
            if (n > 0) {
                long id = RecordIds.document(sub, cur.file(), cur.start());
                if (first < 0) {
                    first = id;
                }
                last = id;
                filled += n;
                curTok += n;
            }
            if (curTokens.done()) {
                curTokens.close();
                file = cur.nextFile();
                offset = cur.nextOffset();
                skip = 0;
                cur = null;
                curTokens = null;
            }
        }
        if (filled == 0) {
            return false;
        }
        Arrays.fill(row, filled, seqLen, tokenizer.pad());
        out.add(row, 0, first, last);
        return true;
    }

    private boolean open() {
        Documents.Doc d = docs.next();
        if (d == null) {
            file = corpus.size();
            offset = 0;
            return false;
        }
        if (skip > 0 && (d.file() != file || d.start() != offset)) {
            throw new IllegalArgumentException("cursor of " + describe() + " is " + skip + " tokens into a document at byte "
                    + offset + " of file #" + file + ", but no document starts there: the source changed since the cursor was committed");
        }
        cur = d;
        curTokens = docs.tokens(d, tokenizer);
        curTok = 0;
        if (skip > 0) {
            curTokens.skip(skip, corpus.path(d.file()) + " byte " + d.start());
            curTok = skip;
            skip = 0;
        }
        return true;
    }

    @Override
    public String cursor() {
        if (cur != null) {
            return new Position(cur.file(), cur.start(), curTok, corpus.names.get(cur.file())).format(corpus.kind.id);
        }
        return new Position(file, offset, skip, file < corpus.size() ? corpus.names.get(file) : "").format(corpus.kind.id);
    }

    @Override
    public String describe() {
        return corpus.describe() + " packed into " + seqLen + "-token samples, tokenizer " + tokenizer.describe();
    }

    private void closeDocs() {
        if (curTokens != null) {
            curTokens.close();
        }
        cur = null;
        curTokens = null;
        curTok = 0;
        if (docs != null) {
            docs.close();
        }
    }

    @Override
    public void close() {
        closeDocs();
    }

    /** A packed source's cursor: document (file number, byte offset), tokens of it delivered, file name. */
    public record Position(int file, long offset, long tokens, String name) {
        public String format(String kind) {
            return kind + ":i=" + file + ",off=" + offset + ",tok=" + tokens + ",file=" + URLEncoder.encode(name, StandardCharsets.UTF_8);
        }

        /** The id of the document this position is in (or before, when {@code tokens == 0}). */
        public long documentId(int sub) {
            return RecordIds.document(sub, Math.min(file, RecordIds.MAX_FILES - 1), Math.min(offset, RecordIds.MAX_OFFSET));
        }

        /** Parses {@code <kind>:i=..,off=..,tok=..,file=..}; null if {@code cursor} is not of that kind. */
        public static Position parseOrNull(String cursor, String kind) {
            if (cursor == null || !cursor.startsWith(kind + ":")) {
                return null;
            }
            return parse(cursor, kind);
        }

        static Position parse(String cursor, String kind) {
            if (!cursor.startsWith(kind + ":")) {
                throw new IllegalArgumentException("committed cursor '" + cursor + "' is not a " + kind + "-source cursor");
            }
            int file = -1;
            long off = -1;
            long tok = -1;
            String name = null;
            try {
                for (String kv : cursor.substring(kind.length() + 1).split(",")) {
                    int eq = kv.indexOf('=');
                    String k = eq < 0 ? kv : kv.substring(0, eq);
                    String v = eq < 0 ? "" : kv.substring(eq + 1);
                    switch (k) {
                        case "i" -> file = Integer.parseInt(v);
                        case "off" -> off = Long.parseLong(v);
                        case "tok" -> tok = Long.parseLong(v);
                        case "file" -> name = URLDecoder.decode(v, StandardCharsets.UTF_8);
                        default -> throw new IllegalArgumentException("unknown field '" + k + "'");
                    }
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("malformed " + kind + "-source cursor '" + cursor + "': " + e.getMessage());
            }
            if (file < 0 || off < 0 || tok < 0 || name == null) {
                throw new IllegalArgumentException("malformed " + kind + "-source cursor '" + cursor + "': needs i, off, tok and file");
            }
            return new Position(file, off, tok, name);
        }
    }
}
