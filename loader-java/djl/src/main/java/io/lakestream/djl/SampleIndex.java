package io.lakestream.djl;

/**
 * Where one sample of a DJL batch comes from: sample {@code sample} of the global batch of step
 * {@code step} ({@link LakestreamBatch#getIndices()} holds one per sample, in order). The pair
 * is the sample's stable identity in the stream: every rank, process and restart maps it to the
 * same bytes.
 */
public record SampleIndex(long step, long sample) {
    @Override
    public String toString() {
        return step + ":" + sample;
    }
}
