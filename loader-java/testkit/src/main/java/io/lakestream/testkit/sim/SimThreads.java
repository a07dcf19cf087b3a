package io.lakestream.testkit.sim;

import io.lakestream.time.Threads;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * One simulated process's {@link Threads}: every worker the protocol code starts (a producer's
 * committer, its object writers, a background snapshot) is an actor of the {@link SimScheduler},
 * so the production code's threads run, one at a time and in an order set by the seed, on
 * simulated time. A wait on a condition is a timed simulated wait that the condition's
 * {@link #signalAll} ends early (so an idle worker costs no events), and a lock another actor
 * holds across store I/O is waited for in short simulated slices. The process's actors are killed or frozen together ({@link #crashAll},
 * {@link #pauseAll}), as SIGKILL and SIGSTOP treat a process's threads.
 */
public final class SimThreads implements Threads {
    /** How often a waiting actor looks again: the simulated latency of a signal. */
    public static final long SLICE_NANOS = 1_000_000;

    private final SimScheduler sim;
    private final String process;
    private final List<SimScheduler.Actor> actors = new ArrayList<>();
    /** Actors waiting on each condition (only one actor runs at a time: no locking needed). */
    private final Map<Condition, Set<SimScheduler.Actor>> waiters = new IdentityHashMap<>();
    /** Actors asked to stop waiting ({@link Worker#interrupt}): their next (or current) {@link #await} throws. */
    private final Set<SimScheduler.Actor> interrupted = new LinkedHashSet<>();

    public SimThreads(SimScheduler sim, String process) {
        this.sim = sim;
        this.process = process;
    }

    @Override
    public Worker start(String name, Runnable body) {
        SimScheduler.Actor a = spawn(name, body);
        return new Worker() {
            @Override
            public boolean join(long millis) {
                return awaitDone(List.of(a), millis);
            }

            @Override
            public void interrupt() {
                // as Thread.interrupt(): a wait on a condition (now or next) throws InterruptedException
                if (!a.done()) {
                    interrupted.add(a);
                    sim.wake(a);
                }
            }
        };
    }

    @Override
    public Pool pool(String name, int parallelism) {
        List<SimScheduler.Actor> tasks = new ArrayList<>();
        int[] n = {0};
        return new Pool() {
            @Override
            public void execute(Runnable task) {
                // one actor per task: the caller bounds the tasks in flight (a producer's encode buffers)
                tasks.add(spawn(name + "-" + ++n[0], task));
            }

            @Override
            public void close() {
                awaitDone(tasks, 30_000);
            }
        };
    }

    @Override
    public void lock(Lock lock) {
        while (!lock.tryLock()) {
            sim.await(SLICE_NANOS / 10);
        }
    }

    @Override
    public void await(Lock lock, Condition condition, long nanos) throws InterruptedException {
        SimScheduler.Actor me = sim.currentActor();
        if (interrupted.remove(me)) {
            throw new InterruptedException(me + " interrupted");
        }
        if (nanos <= 0) {
            return;
        }
        Set<SimScheduler.Actor> w = waiters.computeIfAbsent(condition, c -> new LinkedHashSet<>());
        w.add(me);
        lock.unlock();
        try {
            sim.awaitWakeable(nanos);
        } finally {
            w.remove(me);
            lock(lock);
        }
        if (interrupted.remove(me)) {
            throw new InterruptedException(me + " interrupted");
        }
    }

    @Override
    public void signal(Condition condition) {
        condition.signal();
        Set<SimScheduler.Actor> w = waiters.get(condition);
        if (w != null && !w.isEmpty()) {
            // the longest waiter, as a condition's queue; it leaves the set, so the next signal wakes another
            SimScheduler.Actor a = w.iterator().next();
            w.remove(a);
            sim.wake(a);
        }
    }

    @Override
    public void signalAll(Condition condition) {
        condition.signalAll();
        Set<SimScheduler.Actor> w = waiters.get(condition);
        if (w != null) {
            for (SimScheduler.Actor a : List.copyOf(w)) {
                sim.wake(a);
            }
        }
    }

    /** SIGKILL: every actor this process started stops at its next wait. */
    public void crashAll() {
        for (SimScheduler.Actor a : actors) {
            sim.crash(a);
        }
    }

    /** SIGSTOP for {@code nanos}: every live actor this process started freezes at its next wait. */
    public void pauseAll(long nanos) {
        for (SimScheduler.Actor a : actors) {
            if (!a.done()) {
                sim.pause(a, nanos);
            }
        }
    }

    private SimScheduler.Actor spawn(String name, Runnable body) {
        SimScheduler.Actor a = sim.spawn(process + "/" + name, 0, self -> body.run());
        actors.add(a);
        return a;
    }

    private boolean awaitDone(List<SimScheduler.Actor> of, long millis) {
        long deadline = sim.nowNanos() + millis * 1_000_000;
        while (true) {
            boolean done = true;
            for (SimScheduler.Actor a : of) {
                done &= a.done();
            }
            if (done) {
                return true;
            }
            if (sim.nowNanos() >= deadline) {
                return false;
            }
            sim.await(SLICE_NANOS);
        }
    }

    @Override
    public String toString() {
        return "SimThreads(" + process + ")";
    }
}
