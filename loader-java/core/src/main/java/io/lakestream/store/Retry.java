package io.lakestream.store;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Retries an idempotent store operation on transient {@link StoreException}s with jittered
 * exponential backoff. A missing key and bad input are not transient and are rethrown at once.
 */
public final class Retry {
    private Retry() {}

    public static <T> T idempotent(int attempts, long maxBackoffMillis, Supplier<T> op) {
        long backoff = 10;
        for (int i = 1; ; i++) {
            try {
                return op.get();
            } catch (NoSuchKeyException e) {
                throw e;
            } catch (StoreException e) {
                if (i >= attempts) {
                    throw e;
                }
                try {
                    Thread.sleep(ThreadLocalRandom.current().nextLong(backoff + 1));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoff = Math.min(maxBackoffMillis, backoff * 2);
            }
        }
    }

    public static void idempotent(int attempts, long maxBackoffMillis, Runnable op) {
        idempotent(attempts, maxBackoffMillis, () -> {
            op.run();
            return null;
        });
    }
}
