package io.lakestream.control;

import io.lakestream.log.Changes;
import io.lakestream.log.CommitResult;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.source.Mixture;
import io.lakestream.store.Keys;
import io.lakestream.store.ObjectStore;
import io.lakestream.log.ManifestState;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

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
    /**
     * Prefix of free-form settings ({@code x.curriculum=stage-2}): recorded for the trainer's own
     * use and never read by a producer. Any other key is refused, so a typo ({@code mixtrue=…})
     * cannot become a control version that no producer acts on.
     */
    public static final String FREE_FORM_PREFIX = "x.";

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
            if (set.containsKey(MIXTURE)) {
                checkSources(s, set.get(MIXTURE)); // against the state this commit builds on, before anything is written
            }
            ControlRecord cur = s.control();
            TreeMap<String, String> next = new TreeMap<>(cur == null ? Map.of() : cur.settings());
            next.putAll(set);
            unset.forEach(next::remove);
            if (cur != null ? next.equals(cur.settings()) : next.isEmpty()) {
                return Changes.NONE;
            }
            return Changes.control(new ControlRecord(s.controlVersion() + 1, s.committedSteps(), next, by, log.env().clock().wallMillis()));
        });
    }

    private static void validateKey(String k) {
        Keys.validateId("control setting name", k);
        if (!k.equals(MIXTURE) && !(k.startsWith(FREE_FORM_PREFIX) && k.length() > FREE_FORM_PREFIX.length())) {
            throw new IllegalArgumentException("unknown control setting '" + k + "': producers read '" + MIXTURE
                    + "'; free-form settings for the trainer's own use go under '" + FREE_FORM_PREFIX + "' (e.g. "
                    + FREE_FORM_PREFIX + k + ")");
        }
    }

    /**
     * A mixture must name only sources some mixture producer of the stream has, and give every
     * such producer's sources some weight. The sources are known from each producer's committed
     * cursor in the log (a mixture cursor records every source name); producers that have not
     * committed yet are not known, and a stream with none accepts any well-formed mixture.
     */
    private static void checkSources(ManifestState s, String mixture) {
        Map<String, Double> w = Mixture.parseWeights(mixture);
        TreeMap<String, List<String>> producers = new TreeMap<>();
        TreeSet<String> all = new TreeSet<>();
        s.producers().forEach((id, p) -> {
            List<String> names = Mixture.sourcesOf(p.cursor());
            if (names != null) {
                producers.put(id, names);
                all.addAll(names);
            }
        });
        if (producers.isEmpty()) {
            return;
        }
        Mixture.unknown(w.keySet(), all, "mixture '" + mixture + "'");
        producers.forEach((id, names) -> {
            double sum = 0;
            for (String n : names) {
                sum += w.getOrDefault(n, 0.0);
            }
            if (sum <= 0) {
                throw new IllegalArgumentException("mixture '" + mixture + "' gives none of producer " + id + "'s sources "
                        + names + " a weight above 0: it could make no batch");
            }
        });
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
