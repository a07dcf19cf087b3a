package io.lakestream.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.store.ObjectInfo;
import io.lakestream.store.StoreException;
import io.lakestream.testkit.sim.SimClock;
import io.lakestream.testkit.sim.SimScheduler;
import io.lakestream.testkit.sim.SimStore;
import io.lakestream.testkit.sim.SimThreads;
import io.lakestream.time.Threads;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The simulator itself: deterministic from the seed, and its faults are the ones it claims. */
class SimSchedulerTest {
    private record Outcome(long traceHash, TreeMap<String, Integer> store, long events, int winners) {}

    /** Four racers each try to create keys 0..19 with put-if-absent, on a faulty store; a lister lists meanwhile. */
    private static Outcome race(long seed, boolean broken) {
        SimScheduler sim = new SimScheduler(seed);
        SimStore store = new SimStore(sim, SimStore.Faults.s3Like(), "race");
        if (broken) {
            store.breakPutIfAbsent();
        }
        AtomicInteger winners = new AtomicInteger();
        for (int w = 0; w < 4; w++) {
            final int me = w;
            sim.spawn("racer" + w, w * 1000L, self -> {
                SimClock clock = new SimClock(sim, self.random().nextLong(-5000, 5000), 1.0);
                for (int k = 0; k < 20; k++) {
                    try {
                        if (store.putIfAbsent("k/" + k, ("w" + me).getBytes(StandardCharsets.UTF_8))) {
                            winners.incrementAndGet();
                        }
                    } catch (StoreException e) {
                        clock.sleep(1);
                    }
                }
            });
        }
        sim.spawn("lister", 0, self -> {
            for (int i = 0; i < 5; i++) {
                try {
                    store.list("k/", null, 1000);
                } catch (StoreException e) {
                    // transient: the next round lists again
                }
            }
        });
        Throwable f = sim.run(Long.MAX_VALUE, 1_000_000);
        assertNull(f, () -> "seed " + seed + ": " + f);
        return new Outcome(sim.traceHash(), store.snapshot(), sim.events(), winners.get());
    }

    @Test
    void aSeedDeterminesTheWholeRun() {
        Outcome a = race(42, false);
        Outcome b = race(42, false);
        assertEquals(a, b, "same seed, same schedule, same store, same outcomes");
        assertNotEquals(a.traceHash(), race(43, false).traceHash(), "another seed, another schedule");
        assertTrue(a.winners() <= 20, "atomic put-if-absent: at most one winner per key, got " + a.winners());
    }

    @Test
    void aBrokenPutIfAbsentLetsTwoWritersWinSomewhere() {
        int doubles = 0;
        for (long seed = 1; seed <= 20; seed++) {
            Outcome o = race(seed, true);
            doubles += Math.max(0, o.winners() - o.store().size());
        }
        assertTrue(doubles > 0, "check-then-write lets racing writers both win");
    }

    @Test
    void aCrashedActorNeverTouchesTheStoreAgain() {
        SimScheduler sim = new SimScheduler(7);
        SimStore store = new SimStore(sim, SimStore.Faults.none(), "crash");
        SimScheduler.Actor victim = sim.spawn("victim", 0, self -> {
            for (int i = 0; ; i++) {
                try {
                    store.put("v/" + i, new byte[1]);
                } finally {
                    // a finally block of the crashed actor must not reach the store either
                    if (self.crashed()) {
                        store.put("v/finally", new byte[1]);
                    }
                }
            }
        });
        sim.spawn("killer", 0, self -> {
            new SimClock(sim).sleep(5);
            sim.crash(victim);
            int before = store.snapshot().size();
            new SimClock(sim).sleep(50);
            assertEquals(before, store.snapshot().size(), "no write landed after the crash took effect");
        });
        assertNull(sim.run(Long.MAX_VALUE, 100_000));
        assertTrue(victim.done() && victim.crashed());
        assertTrue(!store.snapshot().containsKey("v/finally"));
        assertTrue(store.snapshot().size() > 3, "the victim wrote before it was killed");
    }

    @Test
    void aLostReplyMeansTheWriteHappenedAndAListSeesDeletionsBetweenItsPages() {
        SimScheduler sim = new SimScheduler(3);
        SimStore.Faults lossy = new SimStore.Faults(100, 100, 0, 1, 0, 1.0, 2);
        SimStore store = new SimStore(sim, lossy, "lossy");
        List<Integer> listed = new ArrayList<>();
        sim.spawn("writer", 0, self -> {
            try {
                store.putIfAbsent("a/1", new byte[3]);
            } catch (StoreException lost) {
                assertTrue(lost.getMessage().contains("lost reply"));
            }
            assertEquals(3, store.peek("a/1").length, "the write happened although its reply was lost");
            for (int i = 2; i <= 40; i++) {
                try {
                    store.put(String.format("a/%02d", i), new byte[1]);
                } catch (StoreException lost) {
                    // happened anyway
                }
            }
            sim.spawn("lister", 0, me -> {
                List<ObjectInfo> l = store.list("a/", null, 1000);
                listed.add(l.size());
            });
            sim.spawn("deleter", 0, me -> {
                new SimClock(sim).sleep(1);
                for (int i = 20; i <= 40; i++) {
                    try {
                        store.delete(String.format("a/%02d", i));
                    } catch (StoreException lost) {
                        // happened anyway
                    }
                }
            });
        });
        assertNull(sim.run(Long.MAX_VALUE, 100_000));
        assertEquals(1, listed.size());
        assertTrue(listed.get(0) > 19 && listed.get(0) < 40, "the listing saw some deletions but not all: " + listed);
    }

    /**
     * Production code's waits on simulated threads: a worker waiting on a condition wakes at the
     * simulated moment another worker signals it (not a slice later), a wait nobody signals ends
     * at its deadline, and a lock held across simulated time is waited for, not deadlocked on.
     */
    @Test
    void simulatedThreadsWakeOnSignalAndOnTimeout() {
        SimScheduler sim = new SimScheduler(7);
        Threads threads = new SimThreads(sim, "proc"); // as production code sees it
        ReentrantLock lock = new ReentrantLock();
        Condition changed = lock.newCondition();
        boolean[] flag = {false};
        long[] wokeAt = {-1, -1};
        long[] lockedAt = {-1};
        sim.spawn("main", 0, self -> {
            Threads.Worker waiter = threads.start("waiter", () -> {
                threads.lock(lock);
                try {
                    while (!flag[0]) {
                        try {
                            threads.await(lock, changed, 1_000_000_000L);
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    wokeAt[0] = sim.nowNanos();
                } finally {
                    lock.unlock();
                }
            });
            Threads.Worker sleeper = threads.start("timeout", () -> {
                ReentrantLock l = new ReentrantLock();
                l.lock();
                try {
                    threads.await(l, l.newCondition(), 3_000_000L);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                } finally {
                    l.unlock();
                }
                wokeAt[1] = sim.nowNanos();
            });
            sim.await(5_000_000L);
            threads.lock(lock);
            try {
                flag[0] = true;
                threads.signalAll(changed);
                sim.await(2_000_000L); // holds the lock across simulated time: the waiter must wait for it
            } finally {
                lock.unlock();
            }
            lockedAt[0] = sim.nowNanos();
            assertTrue(waiter.join(1_000));
            assertTrue(sleeper.join(1_000));
        });
        Throwable f = sim.run(Long.MAX_VALUE, 100_000);
        assertNull(f, () -> String.valueOf(f));
        assertEquals(3_000_000L, wokeAt[1], "an unsignalled wait ends at its deadline");
        assertTrue(wokeAt[0] >= lockedAt[0] && wokeAt[0] <= lockedAt[0] + SimThreads.SLICE_NANOS,
                "the signalled waiter runs once the lock is free: woke at " + wokeAt[0] + ", lock freed at " + lockedAt[0]);
        assertTrue(sim.events() < 100, "waits cost events only when something happens: " + sim.events());
    }

    /**
     * As a platform thread's: interrupting a simulated worker ends its wait on a condition at once
     * with InterruptedException (RankReader.close stops its dispatcher so); signal wakes one
     * waiter, the longest; and a wait ended early leaves no trace in simulated time.
     */
    @Test
    void interruptEndsAWaitAndSignalWakesOneWaiter() {
        SimScheduler sim = new SimScheduler(11);
        Threads threads = new SimThreads(sim, "proc");
        ReentrantLock lock = new ReentrantLock();
        Condition work = lock.newCondition();
        int[] items = {0};
        List<String> log = new ArrayList<>();
        long tenSeconds = 10_000_000_000L;
        sim.spawn("main", 0, self -> {
            Threads.Worker blocked = threads.start("blocked", () -> {
                ReentrantLock l = new ReentrantLock();
                l.lock();
                try {
                    threads.await(l, l.newCondition(), tenSeconds);
                    log.add("blocked: not interrupted");
                } catch (InterruptedException e) {
                    log.add("blocked: interrupted at " + sim.nowNanos());
                } finally {
                    l.unlock();
                }
            });
            List<Threads.Worker> workers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String name = "w" + i;
                workers.add(threads.start(name, () -> {
                    threads.lock(lock);
                    try {
                        while (items[0] == 0) {
                            threads.await(lock, work, tenSeconds);
                        }
                        items[0]--;
                        log.add(name + " took one at " + sim.nowNanos());
                    } catch (InterruptedException e) {
                        log.add(name + " interrupted");
                    } finally {
                        lock.unlock();
                    }
                }));
            }
            sim.await(1_000_000L);
            blocked.interrupt();
            threads.lock(lock);
            try {
                items[0] = 2;
                threads.signal(work); // two items, two signals: each wakes another waiter
                threads.signal(work);
            } finally {
                lock.unlock();
            }
            assertTrue(blocked.join(1_000));
            for (Threads.Worker w : workers) {
                assertTrue(w.join(1_000));
            }
        });
        Throwable f = sim.run(Long.MAX_VALUE, 100_000);
        assertNull(f, () -> String.valueOf(f));
        assertEquals(List.of("blocked: interrupted at 1000000", "w0 took one at 1000000", "w1 took one at 1000000"), log);
        assertTrue(sim.nowNanos() < 10_000_000L, "the ended 10 s waits do not move simulated time: " + sim.nowNanos());
    }
}
