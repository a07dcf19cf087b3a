package io.lakestream.source;

/**
 * Turns a document's text into token ids. Implementations must be deterministic: the same
 * bytes give the same tokens on every machine and run (restarts rely on it).
 */
public interface Tokenizer {
    /** Tokens of one document's UTF-8 text, without special tokens. */
    int[] encode(byte[] utf8);

    /** The end-of-document token appended after every document. */
    int eod();

    /** The token that fills the rest of the source's very last sample. */
    int pad();

    /**
     * True if token {@code k} of a document is its byte {@code k} (so a document can be streamed
     * and a resume position is a byte offset): lets text files of any size be packed.
     */
    default boolean byteLevel() {
        return false;
    }

    String describe();
}
