package io.lakestream.producer;

import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.testkit.ProducerHandOffScenario;
import io.lakestream.testkit.ProducerHandOffScenario.End;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.pastalab.fray.junit.junit5.FrayTestExtension;
import org.pastalab.fray.junit.junit5.annotations.ConcurrencyTest;

/**
 * The producer's hand-off (appending thread, writer pool, committer worker; close racing the
 * committer) under Fray's scheduler, which picks every interleaving at the threads' locks,
 * conditions, atomics and parks instead of leaving it to the JVM, and records a failing one for
 * replay. Same scenario and invariants as {@code ProducerHandOffStressTest}, on fixed parameters:
 * Fray's iterations must differ only in their schedule.
 */
@ExtendWith(FrayTestExtension.class)
class ProducerHandOffFrayTest {
    private static final int ITERATIONS = 50;

    @ConcurrencyTest(iterations = ITERATIONS)
    void closeRacesTheCommitterOfTwoWriters() throws Exception {
        explore(new ProducerHandOffScenario(1, 3, End.CLOSE_WITH_BATCHES_QUEUED, 2, 1));
    }

    @ConcurrencyTest(iterations = ITERATIONS)
    void twoProducersCommitGroupsWhileTheirWritersLand() throws Exception {
        explore(new ProducerHandOffScenario(2, 2, End.COMMIT_THEN_CLOSE, 2, 2));
    }

    private static void explore(ProducerHandOffScenario sc) throws Exception {
        Path dir = Files.createTempDirectory("lakestream-fray-");
        try {
            // Wrapped so that it offers no change watch: the readers of the read-back then poll
            // instead of registering with the JDK's inotify watch service, whose poller thread
            // blocks in native code where Fray cannot schedule it (Fray reports a deadlock there)
            ObjectStore fs = new HookStore(FileStore.open(dir, true));
            List<ProducerHandOffScenario.Outcome> outcomes = new ArrayList<>();
            for (int k = 0; k < sc.producers; k++) {
                outcomes.add(null);
            }
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int k = 0; k < sc.producers; k++) {
                int producer = k;
                Thread t = new Thread(() -> {
                    try {
                        ProducerHandOffScenario.Outcome o = sc.race(fs, producer);
                        synchronized (outcomes) {
                            outcomes.set(producer, o);
                        }
                    } catch (Throwable e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                }, "producer-" + k);
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (!errors.isEmpty()) {
                throw new AssertionError(sc + ": racing phase failed: " + errors.get(0), errors.get(0));
            }
            sc.checkAfterRace(fs, outcomes);
            for (int k = 0; k < sc.producers; k++) {
                sc.resume(fs, k);
            }
            sc.checkAfterResume(fs);
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
