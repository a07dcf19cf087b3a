package io.lakestream.spark;

/**
 * A Spark partition's source cursor, stored by the log with every batch it commits:
 * {@code spark1:parts=N,batch=B,row=R,tok=T,fp=HEX}. {@code parts} is the number of partitions
 * of the write (of the micro-batch, streaming), {@code batch} the micro-batch id (-1: a batch
 * job), {@code row}/{@code tok} the position after the last committed token (rows fully
 * consumed, tokens of the next row already consumed: packed samples may end inside a row), and
 * {@code fp} a fingerprint of the fully consumed rows' record ids and lengths, which a resuming
 * attempt recomputes over the rows it skips to prove it skips the same rows.
 */
record SparkCursor(int parts, long batch, long row, int tok, long fp) {
    private static final String PREFIX = "spark1:";

    String format() {
        return PREFIX + "parts=" + parts + ",batch=" + batch + ",row=" + row + ",tok=" + tok + ",fp=" + Long.toHexString(fp);
    }

    /** Parses a committed cursor (null: none yet); a cursor of another writer is an error naming the producer. */
    static SparkCursor parse(String producer, String s) {
        if (s == null) {
            return null;
        }
        if (!s.startsWith(PREFIX)) {
            throw new IllegalArgumentException("producer '" + producer + "' has a cursor not written by the Spark writer ('" + s
                    + "'): choose another lakestream option 'name'");
        }
        int parts = -1;
        long batch = Long.MIN_VALUE;
        long row = -1;
        int tok = -1;
        Long fp = null;
        try {
            for (String kv : s.substring(PREFIX.length()).split(",")) {
                int eq = kv.indexOf('=');
                String k = kv.substring(0, eq);
                String v = kv.substring(eq + 1);
                switch (k) {
                    case "parts" -> parts = Integer.parseInt(v);
                    case "batch" -> batch = Long.parseLong(v);
                    case "row" -> row = Long.parseLong(v);
                    case "tok" -> tok = Integer.parseInt(v);
                    case "fp" -> fp = Long.parseUnsignedLong(v, 16);
                    default -> { } // a later writer's field: ignored
                }
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("producer '" + producer + "' has a malformed Spark cursor '" + s + "'", e);
        }
        if (parts < 1 || batch == Long.MIN_VALUE || row < 0 || tok < 0 || fp == null) {
            throw new IllegalArgumentException("producer '" + producer + "' has an incomplete Spark cursor '" + s + "'");
        }
        return new SparkCursor(parts, batch, row, tok, fp);
    }

    /** The fingerprint after one more fully consumed row (splitmix64 steps over its id and length). */
    static long fold(long fp, long recordId, int length) {
        long h = fp ^ recordId;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        h ^= h >>> 31;
        h += 0x9E3779B97F4A7C15L + length;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 31);
    }
}
