package io.lakestream.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * A registry of {@link Counter}s, {@link Gauge}s and {@link Histogram}s. Meters are created once
 * (registration is idempotent: the same name and labels give the same meter) and held in static
 * fields by the code that updates them, so an update is a field read and an atomic add.
 *
 * <p>Lakestream records into one process-wide registry, {@link #global()}, rather than one passed
 * in through {@link io.lakestream.StreamEnv}: metrics observe and never steer the protocol, so a
 * shared registry costs no determinism, and it keeps each hook in the producer, reader, pool and
 * store to one line instead of a registry threaded through every constructor. This is how JVM
 * metrics libraries are usually wired (Micrometer's global registry, the Prometheus client's
 * default one). Several producers or readers in one process add into the same series.
 * Exporters read it: Prometheus text ({@link PrometheusText}), Micrometer (lakestream-micrometer),
 * Python ({@link #snapshot()}).
 */
public final class Metrics {
    /**
     * False with {@code -Dlakestream.metrics=false}: Lakestream's hooks return at once (a constant
     * the JIT folds away) and stores are opened without the counting wrapper, for measuring what
     * recording costs, or for a process that wants none of it.
     */
    public static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("lakestream.metrics"));
    private static final Metrics GLOBAL = new Metrics();
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /**
     * The classes that hold Lakestream's meters, next to the code they watch (this package is a
     * leaf: it depends on none of them). Loading them with the registry makes every series exist,
     * at zero, from the first scrape on, as Prometheus expects, not from the first commit or read.
     * Loaded when an exporter first reads the registry, not in this class's initializer: a holder's
     * initializer needs this class, so loading them from here could deadlock two threads that
     * start initializing one each.
     */
    private static final List<String> HOLDERS = List.of("io.lakestream.producer.ProducerMetrics",
            "io.lakestream.reader.ReaderMetrics", "io.lakestream.memory.PoolMetrics", "io.lakestream.store.MeteredStore");
    private static volatile boolean holdersLoaded;

    private void loadHolders() {
        if (this != GLOBAL || holdersLoaded) {
            return;
        }
        for (String holder : HOLDERS) {
            try {
                Class.forName(holder, true, Metrics.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("Lakestream meter holder " + holder + " is missing", e);
            }
        }
        holdersLoaded = true;
    }

    private final Map<String, Meter> byKey = new ConcurrentHashMap<>();
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<Meter>> subscribers = new CopyOnWriteArrayList<>();

    /** A registry of its own (tests, or a library user who exports a separate set); Lakestream records into {@link #global()}. */
    public Metrics() {}

    /** The process's registry, where Lakestream's own meters live. */
    public static Metrics global() {
        return GLOBAL;
    }

    public Counter counter(String name, String help, String... labels) {
        return register(name, labels, "counter", l -> new Counter(new MeterId(name, help, l)), Counter.class);
    }

    /** A gauge the caller sets. */
    public Gauge gauge(String name, String help, String... labels) {
        return register(name, labels, "gauge", l -> new Gauge(new MeterId(name, help, l), null), Gauge.class);
    }

    /** A gauge computed when read (called by exporters, on their thread). */
    public Gauge gauge(String name, String help, DoubleSupplier value, String... labels) {
        return register(name, labels, "gauge", l -> new Gauge(new MeterId(name, help, l), value), Gauge.class);
    }

    /** A duration histogram, exported in seconds: name it {@code …_seconds}. */
    public Histogram histogram(String name, String help, String... labels) {
        return register(name, labels, "histogram", l -> new Histogram(new MeterId(name, help, l)), Histogram.class);
    }

    private synchronized <M extends Meter> M register(String name, String[] labels, String type,
                                                      java.util.function.Function<List<String>, M> make, Class<M> kind) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("metric name '" + name + "' is not a Prometheus name");
        }
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels of " + name + " must be name/value pairs, got " + labels.length + " strings");
        }
        for (int i = 0; i < labels.length; i += 2) {
            if (!LABEL.matcher(labels[i]).matches() || labels[i].startsWith("__")) {
                throw new IllegalArgumentException("label name '" + labels[i] + "' of " + name + " is not a Prometheus label name");
            }
        }
        for (Meter m : meters) {
            if (m.name().equals(name) && !m.type().equals(type)) {
                throw new IllegalArgumentException("metric " + name + " is already a " + m.type() + ", not a " + type);
            }
        }
        List<String> l = List.of(labels);
        String key = name + l;
        Meter m = byKey.get(key);
        if (m == null) {
            m = make.apply(l);
            byKey.put(key, m);
            meters.add(m);
            for (var s : subscribers) {
                s.accept(m);
            }
        }
        return kind.cast(m);
    }

    /**
     * Calls {@code onMeter} with every meter registered so far and, from now on, with each one
     * registered later (on the registering thread): how a binder to another metrics library
     * (lakestream-micrometer) sees them all.
     */
    public void subscribe(java.util.function.Consumer<Meter> onMeter) {
        loadHolders();
        synchronized (this) {
            for (Meter m : meters) {
                onMeter.accept(m);
            }
            subscribers.add(onMeter);
        }
    }

    /** Every meter, in registration order. */
    public List<Meter> meters() {
        loadHolders();
        return new ArrayList<>(meters);
    }

    /**
     * The current values by series name as Prometheus writes them ({@code name{k="v"}}): a counter
     * or gauge its value; a histogram its {@code _count} and {@code _sum} (seconds).
     */
    public Map<String, Double> snapshot() {
        loadHolders();
        Map<String, Double> out = new LinkedHashMap<>();
        for (Meter m : meters) {
            String labels = PrometheusText.labels(m.labels(), null, null);
            switch (m) {
                case Counter c -> out.put(m.name() + labels, (double) c.value());
                case Gauge g -> out.put(m.name() + labels, g.value());
                case Histogram h -> {
                    out.put(m.name() + "_count" + labels, (double) h.count());
                    out.put(m.name() + "_sum" + labels, h.sumSeconds());
                }
            }
        }
        return out;
    }
}
