package io.lakestream.reader;

import io.lakestream.format.ShardEntry;
import io.lakestream.format.ShardTable;
import java.util.List;

/**
 * One rank's shard fields of the step being fetched, loaded in place: from a compact
 * {@link ShardTable} field by field, without the {@link ShardEntry} and boxed header fields that
 * {@code get} builds (≈ 330 B per step, issue 23). Mutable and reused, so one per fetch thread;
 * nothing keeps it past the fetch it was loaded for.
 */
final class RankShard {
    private long offset;
    private long length;
    private long crc32c;
    private long rawLength;
    private long samples;
    private long firstSample;

    RankShard load(List<ShardEntry> shards, int rank) {
        if (shards instanceof ShardTable t) {
            offset = t.offset(rank);
            length = t.length(rank);
            crc32c = t.crc32c(rank);
            rawLength = t.rawLength(rank);
            samples = t.samples(rank);
            firstSample = t.firstSample(rank);
        } else {
            ShardEntry e = shards.get(rank);
            offset = e.offset();
            length = e.length();
            crc32c = e.crc32c();
            rawLength = e.rawLength();
            samples = e.samples();
            firstSample = e.firstSample();
        }
        return this;
    }

    long offset() {
        return offset;
    }

    long length() {
        return length;
    }

    long crc32c() {
        return crc32c;
    }

    long rawLength() {
        return rawLength;
    }

    long samples() {
        return samples;
    }

    long firstSample() {
        return firstSample;
    }
}
