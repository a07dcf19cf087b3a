package io.lakestream.format;

/** Stored bytes whose CRC32C does not match the manifest: corruption in the store or in transit. */
public final class ChecksumMismatchException extends FormatException {
    private final long step;
    private final int rank;

    public ChecksumMismatchException(String message) {
        this(message, null, -1, -1, null);
    }

    /**
     * @param step the step whose shard failed (-1 if not known)
     * @param rank the rank whose shard failed (-1 if not known)
     * @param key  the batch object
     */
    public ChecksumMismatchException(String message, String stream, long step, int rank, String key) {
        super(message, stream, key, null);
        this.step = step;
        this.rank = rank;
    }

    /** The step, or -1 if not known. */
    public long step() {
        return step;
    }

    /** The rank, or -1 if not known. */
    public int rank() {
        return rank;
    }
}
