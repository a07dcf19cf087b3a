package io.lakestream.producer;

import io.lakestream.LakestreamException;

/**
 * Two live instances share one producer epoch: a batch object this instance is writing already
 * exists with other bytes. Epoch claims make this impossible unless the same epoch was handed to
 * two processes (e.g. a producer's state copied); the instance must stop.
 */
public final class SharedEpochException extends LakestreamException {
    private final String producer;
    private final long epoch;
    private final String key;

    public SharedEpochException(String stream, String producer, long epoch, String key) {
        super("batch object " + stream + "/" + key + " already exists with other bytes: two live instances share epoch " + epoch
                + " of producer '" + producer + "'", stream);
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

    /** The batch object found taken. */
    public String key() {
        return key;
    }
}
