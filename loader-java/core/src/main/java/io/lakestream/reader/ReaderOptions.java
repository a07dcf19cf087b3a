package io.lakestream.reader;

/**
 * Reader tuning.
 *
 * @param prefetch       steps fetched ahead of the consumer (and fetches in flight)
 * @param poolSlabBytes  smallest pool slab
 * @param minPollMillis  while a reader waits for a step not committed yet, its (handle's) shared
 *                       follower ({@link SharedFollower}) polls the log at this interval (or one
 *                       GET's latency, if longer); nobody waiting, it does not poll at all
 * @param maxPollMillis  the interval the follower backs off to when the stream has been silent
 *                       for a while (producers stalled)
 * @param stepStride     the reader delivers every {@code stepStride}-th step from its start step:
 *                       {@code start, start + stride, …}; the steps in between are never fetched
 *                       (e.g. DataLoader worker {@code k} of {@code n} starts at {@code first + k}
 *                       with stride {@code n}). 1: every step
 * @param checkedViews   true (the default): a batch's memory views die with it, so a view used
 *                       after {@link StepBatch#close()} throws {@link IllegalStateException};
 *                       that costs a handshake with every thread of the JVM per batch (its
 *                       lease's shared arena closing). False: views are the pool slab's own
 *                       memory and a view used after the close reads whatever the slab holds
 *                       next; a step read from the node's copy (node fetch) is mapped with
 *                       mmap(2) itself and unmapped at the close, so a view used after it
 *                       crashes the process. For callers that hand out no Java view (the Python
 *                       binding) or keep none past the close
 */
public record ReaderOptions(int prefetch, long poolSlabBytes, long minPollMillis, long maxPollMillis, int stepStride,
                            boolean checkedViews) {
    public ReaderOptions {
        if (stepStride < 1) {
            throw new IllegalArgumentException("step stride must be >= 1, got " + stepStride);
        }
    }

    /** Checked views. */
    public ReaderOptions(int prefetch, long poolSlabBytes, long minPollMillis, long maxPollMillis, int stepStride) {
        this(prefetch, poolSlabBytes, minPollMillis, maxPollMillis, stepStride, true);
    }

    /** Every step (stride 1), checked views. */
    public ReaderOptions(int prefetch, long poolSlabBytes, long minPollMillis, long maxPollMillis) {
        this(prefetch, poolSlabBytes, minPollMillis, maxPollMillis, 1);
    }

    public static ReaderOptions defaults() {
        return new ReaderOptions(4, 1L << 20, 1, 100, 1, true);
    }

    public ReaderOptions withPrefetch(int n) {
        return new ReaderOptions(n, poolSlabBytes, minPollMillis, maxPollMillis, stepStride, checkedViews);
    }

    /** Delivers only every {@code stride}-th step from the start step (see {@link #stepStride()}). */
    public ReaderOptions withStepStride(int stride) {
        return new ReaderOptions(prefetch, poolSlabBytes, minPollMillis, maxPollMillis, stride, checkedViews);
    }

    /** Whether views die with their batch (see {@link #checkedViews()}). */
    public ReaderOptions withCheckedViews(boolean checked) {
        return new ReaderOptions(prefetch, poolSlabBytes, minPollMillis, maxPollMillis, stepStride, checked);
    }
}
