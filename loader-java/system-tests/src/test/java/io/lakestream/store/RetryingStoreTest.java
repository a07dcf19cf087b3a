package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.testkit.CountingStore;
import io.lakestream.testkit.FaultInjectingStore;
import io.lakestream.testkit.ManualClock;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetryingStoreTest {
    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void transientFailuresAreRetriedWithBackoffOnTheInjectedClock() {
        FaultInjectingStore wire = new FaultInjectingStore(FileStore.open(dir, true), 3).failBefore(1.0);
        CountingStore counted = new CountingStore(wire);
        ManualClock clock = ManualClock.autoAdvancing(0);
        RetryingStore store = new RetryingStore(counted, new RetryPolicy(5, 100, 1_000), clock);
        StoreException e = assertThrows(StoreException.class, () -> store.get("k"));
        assertTrue(e.getMessage().contains("injected fault"), e.getMessage());
        assertEquals(5, counted.gets.get(), "maxAttempts attempts in all");
        assertEquals(4, clock.sleeps(), "a backoff between attempts, none after the last");
        assertTrue(clock.sleptMillis() <= 100 + 200 + 400 + 800, "jittered exponential backoff: " + clock.sleptMillis());
        wire.failBefore(0);
        store.put("k", bytes("v"));
        assertArrayEquals(bytes("v"), store.get("k"));
    }

    @Test
    void whatRetryingCannotChangeSurfacesAtOnce() {
        CountingStore counted = new CountingStore(FileStore.open(dir, true));
        RetryingStore store = new RetryingStore(counted, new RetryPolicy(5, 1, 1), ManualClock.autoAdvancing(0));
        assertThrows(NoSuchKeyException.class, () -> store.get("absent"));
        assertEquals(1, counted.gets.get(), "a missing key is an answer, not a failure");
        store.put("k", bytes("abc"));
        counted.reset();
        try (Arena a = Arena.ofConfined()) {
            StoreException e = assertThrows(StoreException.class, () -> store.readRange("k", 2, a.allocate(5)));
            assertFalse(e.isRetryable(), e.getMessage());
        }
        assertEquals(1, counted.gets.get(), "a range outside the object is not retried");
        assertThrows(IllegalArgumentException.class, () -> store.get("../escape"));
    }

    @Test
    void aConditionalWriteWhoseAnswerWasLostIsSettledAsOursByReadingBack() {
        // the write lands but its answer is lost; the retry layer retries it and meets the object
        FaultInjectingStore wire = new FaultInjectingStore(FileStore.open(dir, true), 5).failAfter(1.0).lostResponsesOn("putIfAbsent");
        RetryingStore store = new RetryingStore(wire, RetryPolicy.defaults(), ManualClock.autoAdvancing(0));
        assertFalse(store.putIfAbsent("v", bytes("mine")), "the retry finds our own object: 'exists'");
        wire.failAfter(0);
        assertEquals(ConditionalPut.Outcome.OURS, ConditionalPut.put(store, "v", bytes("mine"), b -> new String(b).equals("mine")));
        assertEquals(ConditionalPut.Outcome.THEIRS, ConditionalPut.put(store, "v", bytes("other"), b -> new String(b).equals("other")));
        assertEquals(ConditionalPut.Outcome.CREATED, ConditionalPut.put(store, "w", bytes("x"), b -> true));
    }

    @Test
    void aConditionalWriteThatNeverGetsAnAnswerIsUnknownNotGuessed() {
        FaultInjectingStore wire = new FaultInjectingStore(FileStore.open(dir, true), 5).failBefore(1.0).failBeforeOn("putIfAbsent");
        CountingStore counted = new CountingStore(wire);
        RetryingStore store = new RetryingStore(counted, new RetryPolicy(3, 1, 1), ManualClock.autoAdvancing(0));
        ConditionalPut.OutcomeUnknownException e = assertThrows(ConditionalPut.OutcomeUnknownException.class,
                () -> ConditionalPut.put(store, "v", bytes("x"), b -> true));
        assertTrue(e.getMessage().contains("v") && e.getMessage().contains("may yet land"), e.getMessage());
        assertEquals(6, counted.puts.get(), "two writes of the same bytes, each retried 3 times");
        assertEquals(2, counted.gets.get(), "one read-back after each");
    }
}
