package io.lakestream.fail;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named fail points at every step of the commit protocol, so tests can crash or pause a writer
 * exactly there (after SlateDB's fail points). Disabled points cost one volatile read.
 *
 * <p>Configured from tests through {@link #set}, or for child processes through the environment
 * variable {@code LAKESTREAM_FAILPOINTS="name=action[@n];…"} where action is
 * {@code throw} (a {@link InjectedFailure}), {@code halt} (the JVM dies at once with status 137,
 * like SIGKILL: no shutdown hooks, no finally blocks), {@code sleep:MS}; {@code @n} fires on the
 * n-th hit only (1-based), otherwise on every hit.
 */
public final class FailPoints {
    /** Producer: batch object written, commit not yet attempted. */
    public static final String AFTER_OBJECT_WRITE = "producer.after_object_write";
    /** Log: version validated and serialized, put-if-absent not yet issued. */
    public static final String BEFORE_VERSION_PUT = "log.before_version_put";
    /** Log: version put succeeded, the committer has not yet learned it (response "lost"). */
    public static final String AFTER_VERSION_PUT = "log.after_version_put";
    /** Log: snapshot about to be written after a commit. */
    public static final String BEFORE_SNAPSHOT = "log.before_snapshot";
    /** Producer: commit returned, producer state not yet updated in memory. */
    public static final String AFTER_COMMIT = "producer.after_commit";

    public sealed interface Action permits Throw, Halt, Sleep, Pause {}

    public record Throw() implements Action {}

    public record Halt() implements Action {}

    public record Sleep(long millis) implements Action {}

    /** Blocks the hitting thread until {@link #release()}; {@link #reached()} signals the hit. */
    public record Pause(CountDownLatch reachedLatch, CountDownLatch releaseLatch) implements Action {
        public Pause() {
            this(new CountDownLatch(1), new CountDownLatch(1));
        }

        public boolean awaitReached(long timeout, TimeUnit unit) throws InterruptedException {
            return reachedLatch.await(timeout, unit);
        }

        public void release() {
            releaseLatch.countDown();
        }
    }

    private record Armed(Action action, int onHit, AtomicInteger hits) {}

    private static final Map<String, Armed> ARMED = new ConcurrentHashMap<>();
    private static volatile boolean anyArmed;

    static {
        String env = System.getenv("LAKESTREAM_FAILPOINTS");
        if (env != null && !env.isBlank()) {
            for (String spec : env.split(";")) {
                if (!spec.isBlank()) {
                    parseAndSet(spec.trim());
                }
            }
        }
    }

    private FailPoints() {}

    static void parseAndSet(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("bad LAKESTREAM_FAILPOINTS entry '" + spec + "': want name=action[@n]");
        }
        String name = spec.substring(0, eq);
        String act = spec.substring(eq + 1);
        int onHit = 0;
        int at = act.indexOf('@');
        if (at >= 0) {
            onHit = Integer.parseInt(act.substring(at + 1));
            act = act.substring(0, at);
        }
        Action a;
        if (act.equals("throw")) {
            a = new Throw();
        } else if (act.equals("halt")) {
            a = new Halt();
        } else if (act.startsWith("sleep:")) {
            a = new Sleep(Long.parseLong(act.substring(6)));
        } else {
            throw new IllegalArgumentException("bad fail point action '" + act + "' in '" + spec + "'");
        }
        set(name, a, onHit);
    }

    /** Arms {@code name}; {@code onHit} 0 fires on every hit, n fires on the n-th hit only. */
    public static void set(String name, Action action, int onHit) {
        ARMED.put(name, new Armed(action, onHit, new AtomicInteger()));
        anyArmed = true;
    }

    public static void set(String name, Action action) {
        set(name, action, 0);
    }

    public static void clear(String name) {
        ARMED.remove(name);
        anyArmed = !ARMED.isEmpty();
    }

    public static void clearAll() {
        ARMED.clear();
        anyArmed = false;
    }

    /** Called by the protocol at the named point. */
    public static void hit(String name) {
        if (!anyArmed) {
            return;
        }
        Armed armed = ARMED.get(name);
        if (armed == null) {
            return;
        }
        int n = armed.hits.incrementAndGet();
        if (armed.onHit != 0 && n != armed.onHit) {
            return;
        }
        switch (armed.action) {
            case Throw t -> throw new InjectedFailure(name);
            case Halt h -> {
                System.err.flush();
                Runtime.getRuntime().halt(137);
            }
            case Sleep s -> {
                try {
                    Thread.sleep(s.millis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            case Pause p -> {
                p.reachedLatch.countDown();
                try {
                    p.releaseLatch.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The failure a {@code throw} fail point raises. */
    public static final class InjectedFailure extends RuntimeException {
        public InjectedFailure(String point) {
            super("injected failure at fail point " + point);
        }
    }
}
