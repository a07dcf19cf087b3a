package io.lakestream.log;

/** A durable training checkpoint at {@code step} (the next step the trainer will consume). */
public record CheckpointRecord(long step, String id, long timestampMillis) {}
