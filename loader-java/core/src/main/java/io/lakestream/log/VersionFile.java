package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import java.util.List;
import java.util.Map;

/**
 * One manifest version, {@code _log/<20-digit version>.json}. Created only by put-if-absent.
 * Required on the store (docs/format.md §4): {@code version}, {@code commit_token},
 * {@code first_step}; everything else is optional, and null reads as absent
 * ({@code timestamp_millis} as 0: it is informational).
 *
 * @param commitToken random per commit attempt series: lets a committer recognise its own write
 *                    when the confirmation was lost and a retry found the key taken
 * @param firstStep   step of the first TGB in {@code tgbs}: the number of TGBs committed before
 *                    this version (redundant with log order; checked on load)
 * @param producers   producer states changed by this version (epoch claims and commits)
 * @param reclaimedBelowStep set by GC: batch objects of every step below it were deleted (null: unchanged)
 * @param endOfStream true: the stream ends after this version's TGBs, no later version may carry
 *                    any (null, the usual case, is not written: old streams read as never ended)
 * @param controls    control records (a version with controls carries no TGBs); omitted when empty
 */
public record VersionFile(long version, String commitToken, String committer,
                          @JsonSetter(nulls = Nulls.AS_EMPTY) long timestampMillis, long firstStep,
                          Map<String, ProducerState> producers, List<TgbEntry> tgbs,
                          List<CheckpointRecord> checkpoints,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Long reclaimedBelowStep,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Boolean endOfStream,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ControlRecord> controls) {
    public VersionFile {
        producers = producers == null ? Map.of() : producers;
        tgbs = tgbs == null ? List.of() : tgbs;
        checkpoints = checkpoints == null ? List.of() : checkpoints;
        controls = controls == null ? List.of() : controls;
    }

    /** A version without an end-of-stream record or control records. */
    public VersionFile(long version, String commitToken, String committer, long timestampMillis, long firstStep,
                       Map<String, ProducerState> producers, List<TgbEntry> tgbs, List<CheckpointRecord> checkpoints,
                       Long reclaimedBelowStep) {
        this(version, commitToken, committer, timestampMillis, firstStep, producers, tgbs, checkpoints, reclaimedBelowStep, null,
                null);
    }
}
