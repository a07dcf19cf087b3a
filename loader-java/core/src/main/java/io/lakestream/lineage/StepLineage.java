package io.lakestream.lineage;

import java.util.List;
import java.util.Map;

/**
 * Why step {@code step} holds what it holds: who wrote it, from which source positions, where
 * its bytes are, and which records each rank trains on.
 *
 * @param cursorBefore      the producer's source cursor before this batch (null: the source's
 *                          start); meaningful only when {@code cursorBeforeKnown}
 * @param cursorBeforeKnown false when the producer's previous batch was reclaimed
 * @param control           the version of the control record governing this step (0: none)
 * @param controlSettings   that record's settings (empty: none)
 * @param controlApplied    the control version the producer generated the batch under (null: the
 *                          producer does not follow control records)
 */
public record StepLineage(String stream, long step, String producer, long epoch, long seq, String cursorBefore,
                          boolean cursorBeforeKnown, String cursorAfter, String object, long objectSize, String codec,
                          long samples, long control, Map<String, String> controlSettings, Long controlApplied,
                          List<RankLineage> ranks) {

    /**
     * One rank's shard: its byte range in the object and, per sample, the record ids it holds
     * ({@code lastRecordIds} only for packing sources: sample {@code i} holds the records with
     * ids in {@code [recordIds[i], lastRecordIds[i]]}).
     */
    public record RankLineage(int rank, long offset, long length, long crc32c, long samples, long firstSample, long[] recordIds,
                              long[] lastRecordIds) {}
}
