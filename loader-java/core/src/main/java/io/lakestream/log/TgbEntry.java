package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.lakestream.format.ShardEntry;
import java.util.List;

/**
 * One committed transactional global batch: who wrote it, where its object is, and where each
 * rank's shard lies in that object. Its step is implied by its position in the log.
 *
 * @param cursor  the producer's source cursor after this batch
 * @param control the control version the producer generated this batch under (null: the producer
 *                does not follow control records); a commit is refused unless it is the version
 *                in force
 */
public record TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize,
                       String codec, List<ShardEntry> shards, @JsonInclude(JsonInclude.Include.NON_NULL) Long control) {
    public TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize, String codec,
                    List<ShardEntry> shards) {
        this(producer, epoch, seq, cursor, object, objectSize, codec, shards, null);
    }

    public long samples() {
        long n = 0;
        for (ShardEntry s : shards) {
            n += s.samples();
        }
        return n;
    }
}
