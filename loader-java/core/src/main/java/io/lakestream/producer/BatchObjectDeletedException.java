package io.lakestream.producer;

import io.lakestream.LakestreamException;

/**
 * A producer's own batch object was found taken and then gone before it was committed, while the
 * log neither fences the producer nor ends the stream: Lakestream's GC never does that (it
 * reclaims an orphan only once its producer can no longer commit it), so something else deletes
 * batch objects (a lifecycle rule, a person, another tool). Nothing was committed from it.
 */
public final class BatchObjectDeletedException extends LakestreamException {
    private final String producer;
    private final long epoch;
    private final String key;

    public BatchObjectDeletedException(String stream, String producer, long epoch, String key, String where) {
        super("batch object " + where + " was taken and then deleted before producer '" + producer + "' epoch " + epoch
                + " could read it back, although the log does not fence it: something other than Lakestream's GC deletes"
                + " batch objects (a lifecycle rule on the bucket?)", stream);
        this.producer = producer;
        this.epoch = epoch;
        this.key = key;
    }

    public String producer() {
        return producer;
    }

    public long epoch() {
        return epoch;
    }

    public String key() {
        return key;
    }
}
