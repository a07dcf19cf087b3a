package io.lakestream.source;

/** The default tokenizer: one token per byte (0..255), end-of-document 256, padding 257. */
public final class ByteTokenizer implements Tokenizer {
    public static final int EOD = 256;
    public static final int PAD = 257;
    public static final ByteTokenizer INSTANCE = new ByteTokenizer();

    private ByteTokenizer() {}

    @Override
    public int[] encode(byte[] utf8) {
        int[] t = new int[utf8.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = utf8[i] & 0xFF;
        }
        return t;
    }

    @Override
    public int eod() {
        return EOD;
    }

    @Override
    public int pad() {
        return PAD;
    }

    @Override
    public boolean byteLevel() {
        return true;
    }

    @Override
    public String describe() {
        return "bytes (vocabulary 258: bytes 0-255, end-of-document 256, padding 257)";
    }
}
