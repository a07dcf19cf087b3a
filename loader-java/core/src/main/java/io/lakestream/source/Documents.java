package io.lakestream.source;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakestream.format.Json;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a corpus's documents in order from a position {@code (file, byte offset)}: a text
 * source's document is a whole file; a JSONL source's is one non-blank line's {@code field}.
 */
final class Documents implements Closeable {
    /** Largest document read into memory (JSONL lines, and text files for non-byte tokenizers). */
    static final int MAX_IN_MEMORY = 256 << 20;

    /** One document: where it starts, where the next position is, and how to get its tokens. */
    record Doc(int file, long start, int nextFile, long nextOffset, byte[] text) {}

    private final Corpus corpus;
    private int file;
    private long offset;
    private LineReader lines; // JSONL: open on the current file

    Documents(Corpus corpus, int file, long offset) {
        this.corpus = corpus;
        this.file = corpus.fileAtOrAfter(file);
        this.offset = this.file == file ? offset : 0;
    }

    /** The next document, or null at the end of this partition's files. */
    Doc next() {
        while (file < corpus.size()) {
            Doc d = corpus.kind == Corpus.Kind.TEXT ? nextText() : nextJsonl();
            if (d != null) {
                return d;
            }
            closeLines();
            file = corpus.fileAtOrAfter(file + 1);
            offset = 0;
        }
        return null;
    }

    private Doc nextText() {
        if (offset != 0) {
            throw new IllegalArgumentException("cursor points at byte " + offset + " of " + corpus.path(file)
                    + ", but a text source's documents are whole files (offset 0)");
        }
        int next = corpus.fileAtOrAfter(file + 1);
        Doc d = new Doc(file, 0, next, 0, null);
        file = next;
        offset = 0;
        return d;
    }

    private Doc nextJsonl() {
        Path p = corpus.path(file);
        if (lines == null) {
            lines = new LineReader(p, offset);
        }
        while (true) {
            long start = lines.position();
            byte[] line = lines.next();
            if (line == null) {
                return null;
            }
            offset = lines.position();
            if (isBlank(line)) {
                continue;
            }
            if (start > RecordIds.MAX_OFFSET) {
                throw new IllegalArgumentException(p + ": document at byte " + start + " is beyond the " + RecordIds.MAX_OFFSET
                        + " bytes a record id can address");
            }
            return new Doc(file, start, file, offset, fieldText(p, start, line));
        }
    }

    private byte[] fieldText(Path p, long start, byte[] line) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(line);
        } catch (IOException e) {
            throw new IllegalArgumentException(where(p, start) + ": not a JSON line: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode v = n == null ? null : n.get(corpus.field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where(p, start) + ": field '" + corpus.field + "' is "
                    + (v == null ? "missing" : "not a string (" + v.getNodeType() + ")"));
        }
        return v.asText().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * "FILE line N (byte B)": what an editor finds. The reader may have started mid-file (a
     * resumed cursor), so the line is counted from the file's start, only on this error path.
     */
    private static String where(Path p, long start) {
        long line = 1;
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(p), 1 << 16)) {
            for (long i = 0; i < start; i++) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                if (b == '\n') {
                    line++;
                }
            }
        } catch (IOException e) {
            return p + " byte " + start;
        }
        return p + " line " + line + " (byte " + start + ")";
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** The tokens of {@code d}, followed by the tokenizer's end-of-document token. */
    DocTokens tokens(Doc d, Tokenizer t) {
        if (d.text() != null) {
            return new ArrayTokens(t.encode(d.text()), t.eod());
        }
        Path p = corpus.path(d.file());
        if (t.byteLevel()) {
            return new FileBytes(p, t.eod());
        }
        long n = size(p);
        if (n > MAX_IN_MEMORY) {
            throw new IllegalArgumentException(p + " is " + n + " bytes: with tokenizer " + t.describe() + " a text source's"
                    + " documents (whole files) must be at most " + MAX_IN_MEMORY + " bytes; split it or use a jsonl source");
        }
        try {
            return new ArrayTokens(t.encode(Files.readAllBytes(p)), t.eod());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private void closeLines() {
        if (lines != null) {
            lines.close();
            lines = null;
        }
    }

    @Override
    public void close() {
        closeLines();
    }

    /** A document's token stream, then one end-of-document token. */
    abstract static class DocTokens implements Closeable {
        private final int eod;
        private boolean eodSent;

        DocTokens(int eod) {
            this.eod = eod;
        }

        /** Reads up to {@code len} tokens (the document's, then its end token); 0 when done. */
        final int read(int[] dst, int off, int len) {
            int n = readBody(dst, off, len);
            if (n < len && !eodSent && bodyDone()) {
                dst[off + n++] = eod;
                eodSent = true;
            }
            return n;
        }

        final boolean done() {
            return eodSent;
        }

        /** Skips {@code n} tokens of the stream (a resumed cursor's tokens already delivered). */
        final void skip(long n, String where) {
            long body = skipBody(n);
            if (body < n) {
                if (body == n - 1 && !eodSent) {
                    eodSent = true;
                    return;
                }
                throw new IllegalArgumentException(where + ": cursor skips " + n + " tokens but the document has only " + body
                        + " (+1 end token): the source changed since the cursor was committed");
            }
        }

        abstract int readBody(int[] dst, int off, int len);

        abstract boolean bodyDone();

        /** Skips up to n body tokens; returns how many were skipped. */
        abstract long skipBody(long n);

        @Override
        public void close() {}
    }

    static final class ArrayTokens extends DocTokens {
        private final int[] tokens;
        private int pos;

        ArrayTokens(int[] tokens, int eod) {
            super(eod);
            this.tokens = tokens;
        }

        @Override
        int readBody(int[] dst, int off, int len) {
            int n = Math.min(len, tokens.length - pos);
            System.arraycopy(tokens, pos, dst, off, n);
            pos += n;
            return n;
        }

        @Override
        boolean bodyDone() {
            return pos == tokens.length;
        }

        @Override
        long skipBody(long n) {
            int k = (int) Math.min(n, tokens.length - pos);
            pos += k;
            return k;
        }
    }

    /** A text file streamed byte by byte: files of any size pack with the byte tokenizer. */
    static final class FileBytes extends DocTokens {
        private final Path path;
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(64 << 10);
        private final long size;
        private long pos;

        FileBytes(Path path, int eod) {
            super(eod);
            this.path = path;
            try {
                this.ch = FileChannel.open(path, StandardOpenOption.READ);
                this.size = ch.size();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
            }
            buf.limit(0);
        }

        @Override
        int readBody(int[] dst, int off, int len) {
            int n = 0;
            try {
                while (n < len && pos < size) {
                    if (!buf.hasRemaining()) {
                        buf.clear();
                        if (ch.read(buf, pos) < 0) {
                            break;
                        }
                        buf.flip();
                    }
                    int k = Math.min(len - n, buf.remaining());
                    for (int i = 0; i < k; i++) {
                        dst[off + n + i] = buf.get() & 0xFF;
                    }
                    n += k;
                    pos += k;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
            }
            return n;
        }

        @Override
        boolean bodyDone() {
            return pos >= size;
        }

        @Override
        long skipBody(long n) {
            long k = Math.min(n, size - pos);
            pos += k;
            buf.limit(0);
            return k;
        }

        @Override
        public void close() {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
    }

    /** Lines of a file from a byte position, with the position of each. */
    static final class LineReader implements Closeable {
        private final Path path;
        private final InputStream in;
        private final byte[] buf = new byte[64 << 10];
        private int bufPos;
        private int bufLen;
        private long position;

        LineReader(Path path, long offset) {
            this.path = path;
            try {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
                ch.position(offset);
                this.in = Channels.newInputStream(ch);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
            }
            this.position = offset;
        }

        long position() {
            return position;
        }

        /** The next line without its '\n', or null at the end of the file. */
        byte[] next() {
            ByteArrayOutputStream line = null;
            try {
                while (true) {
                    if (bufPos == bufLen) {
                        bufLen = in.read(buf);
                        bufPos = 0;
                        if (bufLen <= 0) {
                            bufLen = 0;
                            return line == null ? null : line.toByteArray();
                        }
                    }
                    int nl = -1;
                    for (int i = bufPos; i < bufLen; i++) {
                        if (buf[i] == '\n') {
                            nl = i;
                            break;
                        }
                    }
                    int end = nl < 0 ? bufLen : nl;
                    if (line == null) {
                        line = new ByteArrayOutputStream(Math.max(64, end - bufPos));
                    }
                    line.write(buf, bufPos, end - bufPos);
                    position += end - bufPos;
                    bufPos = end;
                    if (line.size() > MAX_IN_MEMORY) {
                        throw new IllegalArgumentException(path + ": a line is longer than " + MAX_IN_MEMORY + " bytes");
                    }
                    if (nl >= 0) {
                        bufPos++;
                        position++;
                        return line.toByteArray();
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
    }
}
