package io.lakestream.source;

/**
 * Record ids of the built-in sources, as 63-bit non-negative numbers that sort in source order:
 * {@code sub (7 bits) | local (56 bits)}. {@code sub} is the index of a named sub-source in a
 * mixture (0 for a single source). For a synthetic source {@code local} is the record index; for
 * text and JSONL sources a record is a document and {@code local} is {@code file (20 bits) |
 * byte offset of the document in the file (36 bits)}, so a document's id says where it is.
 */
public final class RecordIds {
    public static final int SUB_BITS = 7;
    public static final int FILE_BITS = 20;
    public static final int OFFSET_BITS = 36;
    public static final int LOCAL_BITS = 63 - SUB_BITS;
    public static final int MAX_SUBS = 1 << SUB_BITS;
    public static final int MAX_FILES = 1 << FILE_BITS;
    public static final long MAX_OFFSET = (1L << OFFSET_BITS) - 1;
    private static final long LOCAL_MASK = (1L << LOCAL_BITS) - 1;

    private RecordIds() {}

    public static long of(int sub, long local) {
        if (sub < 0 || sub >= MAX_SUBS) {
            throw new IllegalArgumentException("sub-source index " + sub + " is outside [0, " + MAX_SUBS + ")");
        }
        if (local < 0 || local > LOCAL_MASK) {
            throw new IllegalArgumentException("record number " + local + " does not fit " + LOCAL_BITS + " bits");
        }
        return ((long) sub << LOCAL_BITS) | local;
    }

    /** The id of the document starting at byte {@code offset} of file number {@code file}. */
    public static long document(int sub, int file, long offset) {
        if (file < 0 || file >= MAX_FILES) {
            throw new IllegalArgumentException("file number " + file + " is outside [0, " + MAX_FILES + ")");
        }
        if (offset < 0 || offset > MAX_OFFSET) {
            throw new IllegalArgumentException("document offset " + offset + " is beyond " + MAX_OFFSET + " bytes");
        }
        return of(sub, ((long) file << OFFSET_BITS) | offset);
    }

    public static int sub(long id) {
        return (int) (id >>> LOCAL_BITS);
    }

    public static long local(long id) {
        return id & LOCAL_MASK;
    }

    public static int file(long id) {
        return (int) (local(id) >>> OFFSET_BITS);
    }

    public static long offset(long id) {
        return id & MAX_OFFSET;
    }
}
