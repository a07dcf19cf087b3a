package io.lakestream.lineage;

import java.util.List;

/**
 * Why step {@code step} holds what it holds: who wrote it, from which source positions, where
 * its bytes are, and which records each rank trains on.
 *
 * @param cursorBefore      the producer's source cursor before this batch (null: the source's
 *                          start); meaningful only when {@code cursorBeforeKnown}
 * @param cursorBeforeKnown false when the producer's previous batch was reclaimed
 */
public record StepLineage(String stream, long step, String producer, long epoch, long seq, String cursorBefore,
                          boolean cursorBeforeKnown, String cursorAfter, String object, long objectSize, String codec,
                          long samples, List<RankLineage> ranks) {

    /**
     * One rank's shard: its byte range in the object and, per sample, the record ids it holds
     * ({@code lastRecordIds} only for packing sources: sample {@code i} holds the records with
     * ids in {@code [recordIds[i], lastRecordIds[i]]}).
     */
    public record RankLineage(int rank, long offset, long length, long crc32c, long samples, long firstSample, long[] recordIds,
                              long[] lastRecordIds) {}
}
