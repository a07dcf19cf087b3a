package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.lakestream.format.Json;
import java.util.Map;

/**
 * A control record: the trainer-to-producer settings (e.g. {@code mixture=web:0.7,code:0.3})
 * in force from step {@code fromStep} on, committed to the log like a checkpoint record.
 *
 * @param version         1, 2, 3, … in log order (0 means "no control record")
 * @param fromStep        the first step it governs: the committed steps before the version that
 *                        carries it (that version carries no TGBs)
 * @param settings        the whole control state from then on (not a delta)
 * @param id              who or what set it (informational)
 * @param timestampMillis when it was committed (informational)
 * On the store {@code version}, {@code from_step} and {@code settings} (an object of strings, may be
 * empty) are required; {@code id} and {@code timestamp_millis} (0 when absent) are optional
 * (docs/format.md §4.1).
 */
public record ControlRecord(long version, long fromStep,
                            @JsonSetter(nulls = Nulls.FAIL) @JsonDeserialize(contentUsing = Json.StrictString.class)
                            Map<String, String> settings, String id, @JsonSetter(nulls = Nulls.AS_EMPTY) long timestampMillis) {
    public ControlRecord {
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }
}
