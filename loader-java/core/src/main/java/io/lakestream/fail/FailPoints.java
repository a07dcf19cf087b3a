package io.lakestream.fail;

import io.lakestream.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A registry of named fail points at every step of the commit protocol, so tests can crash or
 * pause a writer exactly there (after SlateDB's fail points). A registry is an instance the
 * caller passes in (through {@link io.lakestream.StreamEnv}), so tests that arm points do not
 * disturb each other and can run in parallel. Disabled points cost one volatile read.
 *
 * <p>{@link #none()} is the shared, always-disabled registry every overload without an env uses.
 * Child processes are configured through the environment variable
 * {@code LAKESTREAM_FAILPOINTS="name=action[@n];…"} (read by {@link #fromEnvironment()}, which
 * the command line uses), where action is {@code throw} (an {@link InjectedFailure}),
 * {@code halt} (the JVM dies at once with status 137, like SIGKILL: no shutdown hooks, no
 * finally blocks), {@code sleep:MS}, {@code await:PATH} (the thread waits until the file PATH
 * exists: another process, typically a test, decides when a stalled writer goes on, with no race
 * against a timer); {@code @n} fires on the n-th hit only (1-based), otherwise on every hit.
 */
public final class FailPoints {
    /** The environment variable {@link #fromEnvironment()} reads. */
    public static final String ENV = "LAKESTREAM_FAILPOINTS";
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

    public sealed interface Action permits Throw, Halt, Sleep, AwaitFile, Pause {}

    public record Throw() implements Action {}

    public record Halt() implements Action {}

    /** Sleeps on the system clock: it stands for a real stall (a GC pause) other processes live through. */
    public record Sleep(long millis) implements Action {}

    /**
     * Blocks the hitting thread until the file exists (checked every 10 ms on the system clock):
     * the cross-process form of {@link Pause}, for a test that stalls a child process exactly
     * here and lets it go on once something else has happened, however slow the machine. On the
     * hit it first creates {@code FILE.reached}, the form of {@link Pause#awaitReached} another
     * process can wait for.
     */
    public record AwaitFile(java.nio.file.Path file) implements Action {}

    /** Blocks the hitting thread until {@link #release()}; {@link #awaitReached} waits for the hit. */
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

    private static final FailPoints NONE = new FailPoints(false);

    private final boolean armable;
    private final Map<String, Armed> armed = new ConcurrentHashMap<>();
    private volatile boolean anyArmed;

    /** A new, empty registry that tests arm with {@link #set}. */
    public FailPoints() {
        this(true);
    }

    private FailPoints(boolean armable) {
        this.armable = armable;
    }

    /** The shared registry that never fires and cannot be armed. */
    public static FailPoints none() {
        return NONE;
    }

    /** The points armed by {@code LAKESTREAM_FAILPOINTS}, or {@link #none()} if it is unset. */
    public static FailPoints fromEnvironment() {
        return parse(System.getenv(ENV));
    }

    /**
     * A registry armed from {@code "name=action[@n];…"} ({@link #none()} for null or blank).
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static FailPoints parse(String specs) {
        if (specs == null || specs.isBlank()) {
            return NONE;
        }
        FailPoints f = new FailPoints();
        for (String spec : specs.split(";")) {
            if (!spec.isBlank()) {
                f.parseAndSet(spec.trim());
            }
        }
        return f;
    }

    private void parseAndSet(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("bad " + ENV + " entry '" + spec + "': want name=action[@n]");
        }
        String name = spec.substring(0, eq);
        String act = spec.substring(eq + 1);
        int onHit = 0;
        int at = act.indexOf('@');
        try {
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
            } else if (act.startsWith("await:") && act.length() > 6) {
                a = new AwaitFile(java.nio.file.Path.of(act.substring(6)));
            } else {
                throw new IllegalArgumentException("bad fail point action '" + act + "' in '" + spec + "'");
            }
            set(name, a, onHit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in " + ENV + " entry '" + spec + "'");
        }
    }

    /** Arms {@code name}; {@code onHit} 0 fires on every hit, n fires on the n-th hit only. */
    public FailPoints set(String name, Action action, int onHit) {
        if (!armable) {
            throw new IllegalStateException("FailPoints.none() is shared and never fires; arm a registry of your own "
                    + "(new FailPoints()) and pass it in a StreamEnv");
        }
        armed.put(name, new Armed(action, onHit, new AtomicInteger()));
        anyArmed = true;
        return this;
    }

    public FailPoints set(String name, Action action) {
        return set(name, action, 0);
    }

    public void clear(String name) {
        armed.remove(name);
        anyArmed = !armed.isEmpty();
    }

    public void clearAll() {
        armed.clear();
        anyArmed = false;
    }

    /** Called by the protocol at the named point. */
    public void hit(String name) {
        if (!anyArmed) {
            return;
        }
        Armed a = armed.get(name);
        if (a == null) {
            return;
        }
        int n = a.hits.incrementAndGet();
        if (a.onHit != 0 && n != a.onHit) {
            return;
        }
        switch (a.action) {
            case Throw t -> throw new InjectedFailure(name);
            case Halt h -> {
                System.err.flush();
                Runtime.getRuntime().halt(137);
            }
            case Sleep s -> {
                try {
                    Clock.system().sleep(s.millis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            case AwaitFile w -> {
                try {
                    java.nio.file.Path reached = w.file().resolveSibling(w.file().getFileName() + ".reached");
                    try {
                        java.nio.file.Files.createFile(reached);
                    } catch (java.nio.file.FileAlreadyExistsException again) {
                        // a later hit of an every-hit point: already said
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException("fail point " + name + " cannot create " + reached, e);
                    }
                    while (!java.nio.file.Files.exists(w.file())) {
                        Clock.system().sleep(10);
                    }
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

    @Override
    public String toString() {
        return this == NONE ? "FailPoints.none()" : "FailPoints" + armed.keySet();
    }

    /** The failure a {@code throw} fail point raises. */
    public static final class InjectedFailure extends RuntimeException {
        public InjectedFailure(String point) {
            super("injected failure at fail point " + point);
        }
    }
}
