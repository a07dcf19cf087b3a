package io.lakestream.log;

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
 */
public record ControlRecord(long version, long fromStep, Map<String, String> settings, String id, long timestampMillis) {
    public ControlRecord {
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }
}
