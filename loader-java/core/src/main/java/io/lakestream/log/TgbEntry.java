package io.lakestream.log;

import io.lakestream.format.ShardEntry;
import java.util.List;

/**
 * One committed transactional global batch: who wrote it, where its object is, and where each
 * rank's shard lies in that object. Its step is implied by its position in the log.
 *
 * @param cursor the producer's source cursor after this batch
 */
public record TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize,
                       String codec, List<ShardEntry> shards) {
    public long samples() {
        long n = 0;
        for (ShardEntry s : shards) {
            n += s.samples();
        }
        return n;
    }
}
