package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

/**
 * A durable training checkpoint at {@code step} (the next step the trainer will consume).
 * {@code step} is required; {@code id} and {@code timestamp_millis} (informational, 0 when
 * absent or null) are optional (docs/format.md §4).
 */
public record CheckpointRecord(long step, String id, @JsonSetter(nulls = Nulls.AS_EMPTY) long timestampMillis) {}
