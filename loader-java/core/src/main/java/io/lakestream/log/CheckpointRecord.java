package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

/**
 * A durable training checkpoint at {@code step} (the next step the trainer will consume), recorded
 * by one consumer of the stream. {@code step} is required; {@code id} and {@code timestamp_millis}
 * (informational, 0 when absent or null) are optional (docs/format.md §4).
 *
 * @param consumer the consumer that recorded it (a training run, an eval job, a reference run);
 *                 null (absent in the log, as in every record written before consumers existed)
 *                 is the default consumer. Each consumer's newest {@code keep_checkpoints}
 *                 records are retained; the floor is the lowest step any consumer retains.
 * @param removed  true: not a checkpoint but the removal of {@code consumer} with all its
 *                 records (it no longer holds the floor); null otherwise
 */
public record CheckpointRecord(long step, String id, @JsonSetter(nulls = Nulls.AS_EMPTY) long timestampMillis,
                               @JsonInclude(JsonInclude.Include.NON_NULL) String consumer,
                               @JsonInclude(JsonInclude.Include.NON_NULL) Boolean removed) {
    /** The name of the default consumer, whose records carry no {@code consumer} field. */
    public static final String DEFAULT_CONSUMER = "default";

    /** A checkpoint of the default consumer. */
    public CheckpointRecord(long step, String id, long timestampMillis) {
        this(step, id, timestampMillis, null, null);
    }

    /** The consumer's name: {@link #DEFAULT_CONSUMER} for a record without one. */
    @JsonIgnore
    public String consumerName() {
        return consumer == null || consumer.isEmpty() ? DEFAULT_CONSUMER : consumer;
    }

    /** True for a removal record (see {@code removed}). */
    @JsonIgnore
    public boolean isRemoval() {
        return Boolean.TRUE.equals(removed);
    }
}
