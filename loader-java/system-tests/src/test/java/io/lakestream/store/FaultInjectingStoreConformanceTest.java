package io.lakestream.store;

import io.lakestream.testkit.FaultInjectingStore;
import io.lakestream.testkit.ManualClock;
import io.lakestream.testkit.ObjectStoreConformanceSuite;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract through {@link FaultInjectingStore} over the file store, behind a retry layer.
 *
 * <p>Faults chosen so the contract stays exactly checkable: 1 ms latency on every call (which
 * widens the put-if-absent races), 10% of calls failing before they reach the store (always
 * safe to retry), and 10% lost responses on put and delete (idempotent, so a retry lands in the
 * same state). Lost responses on put-if-absent are left out on purpose: there a retry answers
 * "exists" although this caller created the object, so "exactly one caller sees true" cannot
 * hold; callers resolve that by reading the key back, which the S3 lost-response test and the
 * manifest log's own tests cover. Truncated reads are left out too: a torn {@code get} is the
 * caller's to detect (checksums), not a store property.
 */
class FaultInjectingStoreConformanceTest extends ObjectStoreConformanceSuite {
    @TempDir
    Path dir;

    private FaultInjectingStore faulty;

    @Override
    protected ObjectStore newStore() {
        faulty = new FaultInjectingStore(ObjectStores.open("file://" + dir.resolve("stream"), true), 42)
                .latency(1).failBefore(0.10).failAfter(0.10).lostResponsesOn("put", "delete");
        // the store's one retry layer, on simulated time so backoff costs no real time
        return new RetryingStore(faulty, RetryPolicy.defaults().withMaxAttempts(10), ManualClock.autoAdvancing(0));
    }

    @Override
    protected int manyKeys() {
        return 300; // the file store has no pages; keep the 1 ms latency cheap
    }

    private static final AtomicLong INJECTED = new AtomicLong();

    @AfterEach
    void countFaults() {
        INJECTED.addAndGet(faulty.injectedFaults());
    }

    @AfterAll
    static void faultsWereInjected() {
        assertTrue(INJECTED.get() > 50, "the suite must actually have met faults, saw " + INJECTED.get());
    }
}
