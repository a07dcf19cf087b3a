package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.fail;

import io.lakestream.store.FileStore;
import io.lakestream.testkit.ProducerHandOffScenario;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Many short runs of {@link ProducerHandOffScenario}: the threaded producer's accumulator, writers
 * and committer, with appends, commits, closes and injected failures racing, shifted by stalls at
 * the fail points; the invariants are checked after every run. The scheduler picks the
 * interleavings, so each run explores a different one; the seed fixes everything else, and a
 * failure names it.
 *
 * <p>{@code -Dlakestream.handoff.iterations=N} runs more (the default keeps the test near 10 s on
 * two busy cores); {@code -Dlakestream.handoff.seed=S} starts at another seed (seeds S, S+1, ...).
 * A run that does not finish within {@link #HANG_SECONDS} is a hang (a lost wake-up, a deadlock):
 * the test fails with the threads' stacks. That bound is far above a run's usual tens of
 * milliseconds and is never waited out unless something is stuck.
 */
class ProducerHandOffStressTest {
    private static final int ITERATIONS = Integer.getInteger("lakestream.handoff.iterations", 60);
    private static final long FIRST_SEED = Long.getLong("lakestream.handoff.seed", 1);
    private static final long HANG_SECONDS = 60;

    @Test
    void everyAppendedBatchIsCommittedOnceInOrderWhateverTheInterleaving() throws Exception {
        Path root = scratchRoot();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "handoff-producer");
            t.setDaemon(true); // a hung run must not keep the test JVM alive after its failure
            return t;
        });
        try {
            for (int i = 0; i < ITERATIONS; i++) {
                Path dir = Files.createTempDirectory(root, "handoff-");
                try {
                    runOnce(new ProducerHandOffScenario(FIRST_SEED + i), dir, pool);
                } finally {
                    deleteTree(dir);
                }
            }
        } finally {
            pool.shutdownNow();
            deleteTree(root);
        }
    }

    private static void runOnce(ProducerHandOffScenario sc, Path dir, ExecutorService pool) throws Exception {
        FileStore fs = FileStore.open(dir, true);
        List<Callable<ProducerHandOffScenario.Outcome>> racers = new ArrayList<>();
        for (int k = 0; k < sc.producers; k++) {
            int producer = k;
            racers.add(() -> sc.race(fs, producer));
        }
        sc.checkAfterRace(fs, allWithin(sc, pool, racers, "racing phase"));
        List<Callable<Void>> resumers = new ArrayList<>();
        for (int k = 0; k < sc.producers; k++) {
            int producer = k;
            resumers.add(() -> {
                sc.resume(fs, producer);
                return null;
            });
        }
        allWithin(sc, pool, resumers, "resume");
        sc.checkAfterResume(fs);
    }

    /** Runs the tasks at once; their results, or a failure naming the scenario (with every thread's stack on a hang). */
    private static <T> List<T> allWithin(ProducerHandOffScenario sc, ExecutorService pool, List<Callable<T>> tasks, String phase)
            throws InterruptedException {
        List<Future<T>> fs = new ArrayList<>();
        for (Callable<T> t : tasks) {
            fs.add(pool.submit(t));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            try {
                out.add(f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                fail(sc + ": " + phase + " did not finish in " + HANG_SECONDS + " s (a hang):\n" + threadDump());
            } catch (ExecutionException e) {
                throw new AssertionError(sc + ": " + phase + " failed: " + e.getCause(), e.getCause());
            }
        }
        return out;
    }

    private static String threadDump() {
        StringBuilder b = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            b.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            for (StackTraceElement e : stack) {
                b.append("    at ").append(e).append('\n');
            }
        });
        return b.toString();
    }

    /** tmpfs where there is one: the runs fsync every object, which on a disk would be most of their time. */
    private static Path scratchRoot() throws IOException {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "lakestream-handoff-")
                : Files.createTempDirectory("lakestream-handoff-");
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
