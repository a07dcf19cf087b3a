package io.lakestream.reader;

/**
 * Reader tuning.
 *
 * @param prefetch       steps fetched ahead of the consumer (and fetches in flight)
 * @param poolSlabBytes  smallest pool slab
 * @param minPollMillis  first wait when the next step is not committed yet
 * @param maxPollMillis  longest wait between polls of the log (backoff cap)
 */
public record ReaderOptions(int prefetch, long poolSlabBytes, long minPollMillis, long maxPollMillis) {
    public static ReaderOptions defaults() {
        return new ReaderOptions(4, 1L << 20, 2, 100);
    }

    public ReaderOptions withPrefetch(int n) {
        return new ReaderOptions(n, poolSlabBytes, minPollMillis, maxPollMillis);
    }
}
