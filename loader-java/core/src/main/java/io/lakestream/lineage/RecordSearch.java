package io.lakestream.lineage;

import java.util.List;

/**
 * Where record {@code recordId} was (or, for committed steps not consumed yet, will be) trained.
 *
 * @param status          {@code found}, {@code not_yet_produced} (no committed batch holds it, and a
 *                        producer has not passed it yet) or {@code not_found}
 * @param hits            every sample that holds (part of) the record, in step order
 * @param pending         producers whose cursors have not passed the record: more of it may come
 * @param searchedFrom    first step searched (steps below it were reclaimed)
 * @param searchedTo      committed steps at the time of the search
 * @param objectsRead     batch objects read to confirm candidates (record ranges and cursors ruled the others out)
 * @param message         a sentence saying all that
 */
public record RecordSearch(String stream, long recordId, String status, List<Hit> hits, List<String> pending, long searchedFrom,
                           long searchedTo, int objectsRead, String message) {

    /** One sample holding the record. */
    public record Hit(long step, int rank, int sample, long globalSample, String producer, long epoch, long seq, String object) {}
}
