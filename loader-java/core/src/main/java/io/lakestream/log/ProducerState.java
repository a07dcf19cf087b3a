package io.lakestream.log;

/**
 * What the log knows of one producer: its current epoch, the sequence number of its last
 * committed batch (0 before the first), and its source cursor after that batch.
 */
public record ProducerState(long epoch, long seq, String cursor) {}
