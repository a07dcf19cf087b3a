package io.lakestream.format;

/**
 * A batch object is not as long as its manifest entry says ({@code object_size}), or a shard the
 * entry describes does not fit the real object: a corrupt or hostile entry, caught before any
 * buffer is sized from its lengths.
 */
public final class ObjectSizeMismatchException extends FormatException {
    private final long step;
    private final int rank;
    private final long manifestSize;
    private final long realSize;

    /**
     * @param step         the step (-1 if not known)
     * @param rank         the rank reading (-1 if not known)
     * @param key          the batch object
     * @param manifestSize the entry's {@code object_size}
     * @param realSize     the object's size in the store
     */
    public ObjectSizeMismatchException(String message, String stream, long step, int rank, String key, long manifestSize,
                                       long realSize) {
        super(message, stream, key, null);
        this.step = step;
        this.rank = rank;
        this.manifestSize = manifestSize;
        this.realSize = realSize;
    }

    public long step() {
        return step;
    }

    public int rank() {
        return rank;
    }

    public long manifestSize() {
        return manifestSize;
    }

    public long realSize() {
        return realSize;
    }
}
