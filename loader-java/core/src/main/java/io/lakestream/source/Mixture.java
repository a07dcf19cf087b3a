package io.lakestream.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.format.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A weighted mixture of named sub-sources, deterministic by counts: each sample goes to the
 * sub-source {@code i} with the largest deficit {@code w_i / W · (t + 1) − n_i}, where {@code n_i}
 * counts the samples it gave since the control version in force began, {@code t = Σ n} and
 * {@code W} the weight of the sub-sources not exhausted (ties: the first name). So after any
 * number of samples each sub-source is within one sample of its share, and the sequence is a
 * function of the weights alone.
 *
 * <p>The weights come from the control record in force ({@code mixture=name:weight,…}), else from
 * the defaults given. A new control version restarts the counts. Sub-source {@code i} (names
 * sorted) puts {@code i} into the high bits of its record ids. The cursor is JSON:
 * {@code {"at":{name: sub-cursor},"control":version,"n":{name: count}}}, so a restart resumes every
 * sub-source and the counts exactly.
 */
public final class Mixture implements SampleSource {
    private final String[] names;
    private final SampleSource[] subs;
    private final double[] defaults;
    private final double[] weights;
    private final long[] counts;
    private final boolean[] exhausted;
    private final int seqLen;
    private long controlVersion;

    /**
     * @param specs    sub-source name → spec ({@link Sources#open})
     * @param defaults weights when no control record sets a mixture (null: equal weights)
     */
    public Mixture(Map<String, String> specs, int seqLen, Map<String, Double> defaults) {
        if (specs.isEmpty() || specs.size() > RecordIds.MAX_SUBS) {
            throw new IllegalArgumentException("a mixture needs 1 to " + RecordIds.MAX_SUBS + " named sources, got " + specs.size());
        }
        TreeMap<String, String> sorted = new TreeMap<>(specs);
        this.names = sorted.keySet().toArray(String[]::new);
        this.subs = new SampleSource[names.length];
        this.seqLen = seqLen;
        try {
            for (int i = 0; i < names.length; i++) {
                io.lakestream.store.Keys.validateId("source name", names[i]);
                subs[i] = Sources.open(sorted.get(names[i]), seqLen, i);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.defaults = new double[names.length];
        if (defaults == null) {
            Arrays.fill(this.defaults, 1.0);
        } else {
            unknown(defaults.keySet(), List.of(names), "--mixture");
            fill(this.defaults, defaults, "--mixture");
        }
        this.weights = this.defaults.clone();
        this.counts = new long[names.length];
        this.exhausted = new boolean[names.length];
    }

    /** Parses {@code name:weight,name:weight}: no empty entry, distinct names, finite weights >= 0, some > 0. */
    public static Map<String, Double> parseWeights(String spec) {
        Map<String, Double> m = new LinkedHashMap<>();
        double sum = 0;
        String[] parts = spec.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            if (part.isBlank()) {
                // "a:1,,b:1" is a typo as surely as "a1b1": refuse it rather than guess
                throw new IllegalArgumentException("mixture '" + spec + "' has an empty entry (entry " + (i + 1) + " of "
                        + parts.length + ")");
            }
            int c = part.lastIndexOf(':');
            if (c <= 0) {
                throw new IllegalArgumentException("mixture entry '" + part + "' is not name:weight (in '" + spec + "')");
            }
            String name = part.substring(0, c).trim();
            double w;
            try {
                w = Double.parseDouble(part.substring(c + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("mixture weight of '" + name + "' is not a number: '" + part.substring(c + 1) + "'");
            }
            if (!Double.isFinite(w) || w < 0) {
                throw new IllegalArgumentException("mixture weight of '" + name + "' must be finite and >= 0, got " + w);
            }
            if (m.put(name, w) != null) {
                throw new IllegalArgumentException("mixture names '" + name + "' twice (in '" + spec + "')");
            }
            sum += w;
        }
        if (m.isEmpty() || sum <= 0) {
            throw new IllegalArgumentException("mixture '" + spec + "' gives no source a weight above 0");
        }
        return m;
    }

    /**
     * Refuses a mixture that names a source not in {@code have}: the producer would give it no
     * samples and its weight would silently go to the others.
     */
    public static void unknown(java.util.Collection<String> named, java.util.Collection<String> have, String what) {
        List<String> missing = new ArrayList<>();
        for (String n : named) {
            if (!have.contains(n)) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(what + " names source" + (missing.size() == 1 ? " " : "s ") + missing
                    + " that " + (what.equals("--mixture") ? "this producer does not have" : "no mixture producer of the stream has")
                    + " (sources: "
                    + new java.util.TreeSet<>(have) + ")");
        }
    }

    /**
     * The source names a committed mixture cursor records (the producer's sources, sorted), or
     * null if {@code cursor} is not a mixture cursor. This is how {@code control} learns which
     * sources the stream's mixture producers have, without running them.
     */
    public static List<String> sourcesOf(String cursor) {
        if (cursor == null || !cursor.startsWith("{")) {
            return null;
        }
        try {
            JsonNode at = parse(cursor).get("at");
            List<String> out = new ArrayList<>();
            at.fieldNames().forEachRemaining(out::add);
            return out;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private void fill(double[] dst, Map<String, Double> w, String what) {
        double sum = 0;
        for (int i = 0; i < names.length; i++) {
            dst[i] = w.getOrDefault(names[i], 0.0);
            sum += dst[i];
        }
        if (sum <= 0) {
            throw new IllegalArgumentException(what + " " + w + " gives none of this producer's sources " + Arrays.toString(names)
                    + " a weight above 0");
        }
    }

    /**
     * Applies the control state in force: its version and its {@code mixture} setting (null: the
     * defaults). Call after {@link #seek}; a version other than the cursor's restarts the counts.
     */
    public void applyControl(long version, String mixture) {
        if (mixture == null) {
            System.arraycopy(defaults, 0, weights, 0, weights.length);
        } else {
            fill(weights, parseWeights(mixture), "control version " + version + " mixture");
        }
        if (version != controlVersion) {
            Arrays.fill(counts, 0);
            controlVersion = version;
        }
    }

    /** The control version the current counts belong to. */
    public long controlVersion() {
        return controlVersion;
    }

    /** Sub-source names, sorted: index {@code i} is the sub-source number in record ids. */
    public List<String> names() {
        return List.of(names);
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public boolean packed() {
        for (SampleSource s : subs) {
            if (s.packed()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void seek(String cursor) {
        Arrays.fill(exhausted, false);
        if (cursor == null) {
            for (SampleSource s : subs) {
                s.seek(null);
            }
            Arrays.fill(counts, 0);
            controlVersion = 0;
            return;
        }
        JsonNode c = parse(cursor);
        JsonNode at = c.get("at");
        JsonNode n = c.get("n");
        List<String> theirs = new ArrayList<>();
        at.fieldNames().forEachRemaining(theirs::add);
        if (!theirs.equals(List.of(names))) {
            throw new IllegalArgumentException("committed mixture cursor names sources " + theirs + " but this producer has "
                    + List.of(names) + ": a producer must keep its sources across restarts");
        }
        for (int i = 0; i < names.length; i++) {
            JsonNode a = at.get(names[i]);
            subs[i].seek(a == null || a.isNull() ? null : a.asText());
            counts[i] = n == null ? 0 : n.path(names[i]).asLong(0);
        }
        controlVersion = c.path("control").asLong(0);
    }

    static JsonNode parse(String cursor) {
        try {
            JsonNode c = Json.MAPPER.readTree(cursor);
            if (c == null || !c.isObject() || !c.path("at").isObject()) {
                throw new IllegalArgumentException("committed cursor '" + cursor + "' is not a mixture cursor");
            }
            return c;
        } catch (IOException e) {
            throw new IllegalArgumentException("committed cursor '" + cursor + "' is not a mixture cursor: " + e.getMessage());
        }
    }

    @Override
    public boolean next(SampleBatch out) {
        while (true) {
            double live = 0;
            long t = 0;
            for (int i = 0; i < names.length; i++) {
                t += counts[i];
                if (!exhausted[i]) {
                    live += weights[i];
                }
            }
            if (live <= 0) {
                return false;
            }
            int best = -1;
            double bestDeficit = 0;
            for (int i = 0; i < names.length; i++) {
                if (exhausted[i] || weights[i] <= 0) {
                    continue;
                }
                double deficit = weights[i] / live * (t + 1) - counts[i];
                if (best < 0 || deficit > bestDeficit) {
                    best = i;
                    bestDeficit = deficit;
                }
            }
            if (subs[best].next(out)) {
                counts[best]++;
                return true;
            }
            exhausted[best] = true;
        }
    }

    @Override
    public String cursor() {
        ObjectNode c = Json.MAPPER.createObjectNode();
        ObjectNode at = c.putObject("at");
        for (int i = 0; i < names.length; i++) {
            at.put(names[i], subs[i].cursor());
        }
        c.put("control", controlVersion);
        ObjectNode n = c.putObject("n");
        for (int i = 0; i < names.length; i++) {
            n.put(names[i], counts[i]);
        }
        return c.toString();
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("mixture of");
        for (int i = 0; i < names.length; i++) {
            b.append(' ').append(names[i]).append('=').append(subs[i].describe()).append(" (weight ").append(weights[i]).append(')');
        }
        return b.toString();
    }

    @Override
    public void close() {
        for (SampleSource s : subs) {
            if (s != null) {
                s.close();
            }
        }
    }
}
