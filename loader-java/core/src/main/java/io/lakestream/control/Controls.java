package io.lakestream.control;

import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.source.Mixture;
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * The trainer-to-producer control channel: a control record committed to the log like a
 * checkpoint record. It holds the whole control state (settings) from its {@code from_step}
 * (the steps committed before it) on. Producers that follow controls see it at their next commit:
 * batches they generated under an older version are refused and regenerated, so every step from
 * {@code from_step} on was generated under it, and exactly-once holds across the change.
 */
public final class Controls {
    /** Settings the built-in producers read: {@code mixture=name:weight,…}. */
    public static final String MIXTURE = "mixture";

    private Controls() {}

    /** The control record in force now, or null. */
    public static ControlRecord current(ObjectStore store) {
        return ManifestLog.open(store, true).state().control();
    }

    /**
     * Commits the next control version: the current settings with {@code set} applied and
     * {@code unset} removed. Setting what is already in force commits nothing (the result says
     * {@code committed() == false}).
     */
    public static CommitResult set(ObjectStore store, Map<String, String> set, Collection<String> unset, String id) {
        return set(ManifestLog.open(store), set, unset, id);
    }

    public static CommitResult set(ManifestLog log, Map<String, String> set, Collection<String> unset, String id) {
        for (Map.Entry<String, String> e : set.entrySet()) {
            validate(e.getKey(), e.getValue());
        }
        for (String k : unset) {
            validateKey(k);
        }
        String by = id == null ? "control" : id;
        return log.commit(by, s -> {
            ControlRecord cur = s.control();
            TreeMap<String, String> next = new TreeMap<>(cur == null ? Map.of() : cur.settings());
            next.putAll(set);
            unset.forEach(next::remove);
            if (cur != null ? next.equals(cur.settings()) : next.isEmpty()) {
                return Changes.NONE;
            }
            return Changes.control(new ControlRecord(s.controlVersion() + 1, s.committedSteps(), next, by, System.currentTimeMillis()));
        });
    }

    private static void validateKey(String k) {
        Keys.validateId("control setting name", k);
    }

    private static void validate(String k, String v) {
        validateKey(k);
        if (v == null) {
            throw new IllegalArgumentException("control setting '" + k + "' has no value");
        }
        if (k.equals(MIXTURE)) {
            Mixture.parseWeights(v); // refuses a malformed mixture before it reaches any producer
        }
    }
}
