package io.lakestream.producer;

import io.lakestream.format.Codec;

/**
 * Producer tuning.
 *
 * @param codec         how shards are stored
 * @param initialGroup  TGBs per commit to start with (group commit)
 * @param maxGroup      upper bound of the adaptive group size
 * @param adaptive      adapt the group size to observed conflicts (DAC, AIMD): lost races double
 *                      it, clean commits shrink it by one
 */
public record ProducerOptions(Codec codec, int initialGroup, int maxGroup, boolean adaptive) {
    public static ProducerOptions defaults() {
        return new ProducerOptions(Codec.NONE, 1, 64, true);
    }

    public ProducerOptions withCodec(Codec c) {
        return new ProducerOptions(c, initialGroup, maxGroup, adaptive);
    }

    public ProducerOptions withGroup(int initial, int max, boolean adapt) {
        return new ProducerOptions(codec, initial, max, adapt);
    }
}
