package io.lakestream.testkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs actors (producers, readers, GC, ...) on simulated time, one at a time, in an order that
 * depends only on the seed: the way FoundationDB's simulator and TigerBeetle's VOPR run a
 * protocol, but with the real protocol code.
 *
 * <p>Each actor is a thread, but only one thread runs at any moment: the one holding the baton.
 * An actor gives the baton back whenever it waits for simulated time ({@link #await}), which
 * every store operation and every clock sleep does. The scheduler then picks the next event:
 * the earliest wake-up (ties in the order they were scheduled) and hands the baton to its actor.
 * Because nothing else runs, the protocol code between two waits runs as one atomic step, and
 * the whole run (every store operation, its latency, whether its reply is lost) is a function
 * of the seed. Actors must not share protocol objects or block on each other outside the
 * simulation (a monitor held across an {@link #await} would deadlock the run; a watchdog reports
 * that with the actor's stack).
 *
 * <p>A crashed actor ({@link #crash}) is stopped at its next wait, like SIGKILL: the
 * {@link Crash} it gets unwinds its stack, and every later wait throws it again, so not one more
 * store operation runs on its behalf (finally blocks cannot reach the store).
 */
public final class SimScheduler {
    /** Thrown inside a crashed actor's thread: an {@link Error}, so protocol code does not catch it. */
    public static final class Crash extends Error {
        Crash(String actor) {
            super("actor " + actor + " crashed (simulated SIGKILL)", null, false, false);
        }
    }

    /** Thrown inside every actor when the run is stopped (limits reached or an invariant failed). */
    public static final class Stopped extends Error {
        Stopped() {
            super("simulation stopped", null, false, false);
        }
    }

    /** A body of work run as one actor. */
    @FunctionalInterface
    public interface Body {
        void run(Actor self) throws Exception;
    }

    /** One actor: a name, its own random stream, its thread. */
    public final class Actor {
        private final String name;
        private final int id;
        private final Semaphore baton = new Semaphore(0);
        private final SplittableRandom random;
        private Thread thread;
        private volatile boolean crashed;
        private boolean done;
        private boolean parked;
        private boolean wakeable; // in awaitWakeable: a wake() may end the wait early
        private long generation; // bumped by an early wake: the timed event it replaced is stale
        private long pauseNanos;

        private Actor(String name, int id, SplittableRandom random) {
            this.name = name;
            this.id = id;
            this.random = random;
        }

        public String name() {
            return name;
        }

        /** This actor's deterministic random stream (split from the seed at spawn). */
        public SplittableRandom random() {
            return random;
        }

        public boolean crashed() {
            return crashed;
        }

        public boolean done() {
            return done;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private record Event(long at, long seq, Actor actor, long generation) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private final long seed;
    private final SplittableRandom random;
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final Semaphore schedulerBaton = new Semaphore(0);
    private final List<Actor> actors = new ArrayList<>();
    private final ThreadLocal<Actor> current = new ThreadLocal<>();
    private final List<Consumer<String>> traceSinks = new ArrayList<>();
    private long now;
    private long seq;
    private long events;
    private boolean stopping;
    private Throwable failure;
    private String failureActor;
    private long traceHash = 1125899906842597L;

    public SimScheduler(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    public long seed() {
        return seed;
    }

    /** Simulated nanoseconds since the start of the run. */
    public long nowNanos() {
        return now;
    }

    /** Events dispatched so far (each is one resumption of one actor). */
    public long events() {
        return events;
    }

    /** A hash of everything that was traced, in order: equal for two runs of one seed. */
    public long traceHash() {
        return traceHash;
    }

    /** The scheduler's random stream: only for decisions taken on the scheduler thread or in {@link #spawn}. */
    public SplittableRandom random() {
        return random;
    }

    /** Adds a line to the run's trace (and its hash); cheap when no sink listens. */
    public void trace(String line) {
        for (int i = 0; i < line.length(); i++) {
            traceHash = 31 * traceHash + line.charAt(i);
        }
        traceHash = 31 * traceHash + now;
        if (!traceSinks.isEmpty()) {
            String l = String.format("%12.3f ms %s", now / 1e6, line);
            traceSinks.forEach(s -> s.accept(l));
        }
    }

    public void onTrace(Consumer<String> sink) {
        traceSinks.add(sink);
    }

    /** Starts {@code body} as a new actor after {@code delayNanos} of simulated time. */
    public Actor spawn(String name, long delayNanos, Body body) {
        Actor a = new Actor(name, actors.size(), random.split());
        actors.add(a);
        a.thread = Thread.ofVirtual().name("sim-" + name).unstarted(() -> runActor(a, body));
        schedule(a, delayNanos);
        return a;
    }

    private void runActor(Actor a, Body body) {
        a.baton.acquireUninterruptibly();
        current.set(a);
        try {
            checkAlive(a);
            body.run(a);
        } catch (Crash | Stopped expected) {
            // the actor's life ended as scheduled
        } catch (Throwable t) {
            if (failure == null && !stopping) {
                failure = t;
                failureActor = a.name;
            }
        } finally {
            a.done = true;
            schedulerBaton.release();
        }
    }

    /** The actor whose thread calls this, or null outside the simulation. */
    public Actor currentActor() {
        return current.get();
    }

    /**
     * Gives the baton back and waits {@code nanos} of simulated time (plus any pause set for this
     * actor). Called by the simulated store and clock; must run on an actor's thread.
     *
     * @throws Crash   if this actor was crashed (now or earlier)
     * @throws Stopped if the run was stopped
     */
    public void await(long nanos) {
        Actor a = current.get();
        if (a == null) {
            throw new IllegalStateException("simulated time can only be awaited on an actor's thread, not "
                    + Thread.currentThread().getName());
        }
        checkAlive(a);
        long d = Math.max(0, nanos) + a.pauseNanos;
        a.pauseNanos = 0;
        schedule(a, d);
        schedulerBaton.release();
        a.baton.acquireUninterruptibly();
        checkAlive(a);
    }

    /**
     * Gives the baton back with no wake-up scheduled: the calling actor sleeps until another one
     * {@link #unpark}s it (or the run stops). For waits on a condition that another actor makes
     * true (a step becoming visible), so the waiter costs no events while it waits. Check the
     * condition and park with no store call or sleep in between: nothing else runs meanwhile, so
     * no wake-up is lost.
     */
    public void park() {
        Actor a = current.get();
        if (a == null) {
            throw new IllegalStateException("only an actor can park, not " + Thread.currentThread().getName());
        }
        checkAlive(a);
        a.parked = true;
        schedulerBaton.release();
        a.baton.acquireUninterruptibly();
        checkAlive(a);
    }

    /**
     * As {@link #await}, but {@link #wake} ends the wait early: a timed wait on a condition that
     * another actor signals (a worker waiting for its queue to change), which costs no events
     * while nothing changes.
     */
    public void awaitWakeable(long nanos) {
        Actor a = current.get();
        if (a == null) {
            throw new IllegalStateException("simulated time can only be awaited on an actor's thread, not "
                    + Thread.currentThread().getName());
        }
        a.wakeable = true;
        try {
            await(nanos);
        } finally {
            a.wakeable = false;
        }
    }

    /** Ends {@code a}'s {@link #awaitWakeable} now (in simulated time), if it is in one; otherwise does nothing. */
    public void wake(Actor a) {
        if (a.wakeable && !a.done) {
            a.wakeable = false;
            a.generation++;
            schedule(a, 0);
        }
    }

    /** Wakes {@code a} now (in simulated time) if it is parked; otherwise does nothing. */
    public void unpark(Actor a) {
        if (a.parked && !a.done) {
            a.parked = false;
            schedule(a, 0);
        }
    }

    private void checkAlive(Actor a) {
        if (stopping) {
            throw new Stopped();
        }
        if (a.crashed) {
            throw new Crash(a.name);
        }
    }

    private void schedule(Actor a, long delayNanos) {
        queue.add(new Event(now + delayNanos, seq++, a, a.generation));
    }

    /** Kills {@code a} at its next wait (or at once if it is waiting now): no store operation runs for it again. */
    public void crash(Actor a) {
        if (!a.crashed && !a.done) {
            a.crashed = true;
            trace("crash " + a.name);
        }
    }

    /** Freezes {@code a} for {@code nanos} of simulated time at its next wait (a SIGSTOP or a long GC pause). */
    public void pause(Actor a, long nanos) {
        a.pauseNanos += nanos;
        trace("pause " + a.name + " for " + nanos / 1_000_000 + " ms");
    }

    /** Fails the run from an actor's thread (an invariant was violated); the actor stops here. */
    public void fail(String message) {
        Actor a = current.get();
        AssertionError e = new AssertionError(message);
        if (failure == null) {
            failure = e;
            failureActor = a == null ? "scheduler" : a.name;
        }
        throw e;
    }

    /**
     * Runs until every actor is done, or {@code maxSimNanos} of simulated time or
     * {@code maxEvents} events have passed, or an actor failed.
     *
     * @return the first failure (an actor's unexpected exception or a failed invariant), or null
     */
    public Throwable run(long maxSimNanos, long maxEvents) {
        if (!Thread.currentThread().isVirtual()) {
            // Handing the baton between a platform thread and virtual threads wakes OS threads on
            // every event; between virtual threads it is a continuation switch. So the dispatch
            // loop runs on a virtual thread too (and, with
            // -Djdk.virtualThreadScheduler.parallelism=1, everything on one carrier).
            Throwable[] out = new Throwable[1];
            Thread t = Thread.ofVirtual().name("sim-scheduler").start(() -> out[0] = run(maxSimNanos, maxEvents));
            try {
                t.join();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                stopping = true;
                return ie;
            }
            return out[0];
        }
        try {
            while (failure == null) {
                Event e = queue.poll();
                if (e == null) {
                    break;
                }
                Actor a = e.actor;
                if (a.done || e.generation != a.generation) {
                    // ended, or woken early by wake(): this timed resumption is stale. Neither time
                    // nor the event count moves for it (a worker woken from a long idle wait would
                    // otherwise stretch the run's simulated time to that wait's end)
                    continue;
                }
                if (e.at > maxSimNanos || events >= maxEvents) {
                    queue.add(e);
                    break;
                }
                now = e.at;
                events++;
                if (a.thread.getState() == Thread.State.NEW) {
                    a.thread.start();
                }
                a.baton.release();
                if (!schedulerBaton.tryAcquire(60, TimeUnit.SECONDS)) {
                    StringBuilder st = new StringBuilder();
                    for (StackTraceElement f : a.thread.getStackTrace()) {
                        st.append("\n    at ").append(f);
                    }
                    failure = new IllegalStateException("actor " + a.name + " did not yield within 60 s of real time: it is blocked "
                            + "outside the simulation (a lock or future shared between actors?)" + st);
                    failureActor = a.name;
                }
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            failure = ie;
        } finally {
            stopAll();
        }
        return failure;
    }

    /** The actor the first failure came from. */
    public String failureActor() {
        return failureActor;
    }

    /** Wakes every live actor with {@link Stopped} so its thread ends; waits for them. */
    private void stopAll() {
        stopping = true;
        for (Actor a : actors) {
            if (!a.done && a.thread.getState() != Thread.State.NEW) {
                a.baton.release();
                try {
                    schedulerBaton.tryAcquire(10, TimeUnit.SECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    public List<Actor> actors() {
        return List.copyOf(actors);
    }
}
