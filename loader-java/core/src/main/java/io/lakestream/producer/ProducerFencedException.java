package io.lakestream.producer;

import io.lakestream.LakestreamException;

/** A newer instance of the same producer id claimed a later epoch: this one is a zombie. */
public final class ProducerFencedException extends LakestreamException {
    private final String producer;
    private final long epoch;
    private final long currentEpoch;

    public ProducerFencedException(String stream, String producer, long epoch, long currentEpoch) {
        super("producer '" + producer + "' epoch " + epoch + " is fenced on " + stream + ": epoch " + currentEpoch
                + " was claimed by a newer instance; this instance must stop (its uncommitted batches are discarded)", stream);
        this.producer = producer;
        this.epoch = epoch;
        this.currentEpoch = currentEpoch;
    }

    public String producer() {
        return producer;
    }

    public long epoch() {
        return epoch;
    }

    public long currentEpoch() {
        return currentEpoch;
    }
}
