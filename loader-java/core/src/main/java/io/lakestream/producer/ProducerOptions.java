package io.lakestream.producer;

import io.lakestream.format.Codec;

/**
 * Producer tuning.
 *
 * @param codec          how shards are stored
 * @param initialGroup   TGBs per commit to start with (group commit); also the floor the
 *                       adaptive group shrinks back to
 * @param maxGroup       upper bound of the adaptive group size
 * @param adaptive       adapt the group size to observed conflicts (DAC, AIMD): lost races double
 *                       it, clean commits shrink it by one down to {@code initialGroup}
 * @param writeParallelism batch objects written concurrently (their fsyncs overlap; 0: inline on the
 *                       appending thread, as a deterministic simulation needs); a commit
 *                       waits for the writes of the batches it commits
 * @param allowUnsafeStore create the stream (if absent) without probing the store's conditional
 *                       writes first; for stores known to fail the probe, at the cost of exactly-once
 */
public record ProducerOptions(Codec codec, int initialGroup, int maxGroup, boolean adaptive, int writeParallelism,
                              boolean allowUnsafeStore) {
    public static ProducerOptions defaults() {
        return new ProducerOptions(Codec.NONE, 4, 64, true, 4, false);
    }

    public ProducerOptions withUnsafeStore(boolean allow) {
        return new ProducerOptions(codec, initialGroup, maxGroup, adaptive, writeParallelism, allow);
    }

    public ProducerOptions withCodec(Codec c) {
        return new ProducerOptions(c, initialGroup, maxGroup, adaptive, writeParallelism, allowUnsafeStore);
    }

    public ProducerOptions withGroup(int initial, int max, boolean adapt) {
        return new ProducerOptions(codec, initial, max, adapt, writeParallelism, allowUnsafeStore);
    }

    public ProducerOptions withWriteParallelism(int n) {
        return new ProducerOptions(codec, initialGroup, maxGroup, adaptive, n, allowUnsafeStore);
    }
}
