package io.lakestream.producer;

import io.lakestream.format.Codec;

/**
 * Producer tuning.
 *
 * @param codec          how shards are stored
 * @param initialGroup   TGBs per commit to start with (group commit); also the floor the
 *                       adaptive group shrinks back to
 * @param maxGroup       upper bound of the group size (and of the TGBs one version carries)
 * @param adaptive       Decentralized Adaptive Commit ({@link CommitPacer}): the group grows when
 *                       commits lose races to other producers' batches and shrinks fast once they
 *                       stop, commits are spaced by the observed commit latency, and no batch
 *                       waits longer than {@code maxLingerMillis} for its commit to start. False:
 *                       a fixed group, committed when full or on {@link TgbProducer#commit()}
 * @param writeParallelism batch objects written concurrently (their fsyncs overlap), with a
 *                       committer thread committing them so that commits never stall the
 *                       appending thread; 0: everything inline on the appending thread (no other
 *                       threads at all, as a deterministic simulation needs)
 * @param allowUnsafeStore create the stream (if absent) without probing the store's conditional
 *                       writes first; for stores known to fail the probe, at the cost of exactly-once
 * @param maxLingerMillis with {@code adaptive}, the longest a batch waits before its commit
 *                       starts (negative: no bound); {@link #AUTO_LINGER} (the default): two of
 *                       this producer's observed commit latencies, at least
 *                       {@link #MIN_AUTO_LINGER_MILLIS}. Inline producers check it when they append
 */
public record ProducerOptions(Codec codec, int initialGroup, int maxGroup, boolean adaptive, int writeParallelism,
                              boolean allowUnsafeStore, long maxLingerMillis) {
    /**
     * The default linger bound: two commit latencies as this producer observes them, and at least
     * {@link #MIN_AUTO_LINGER_MILLIS}. A fixed bound cannot suit every store: 5 ms is two commits
     * on a local disk but a tenth of one on S3, where a batch is written every few tens of
     * milliseconds; a bound below the gap between batches leaves every group at one batch, and
     * many producers then lose most of their races (the 1,024 x 64 simulation: 86 % lost, a
     * third of the steps per second). Two commit latencies is about what one lost race costs a
     * batch anyway. Uncontended, the group is one batch and the bound never matters.
     */
    public static final long AUTO_LINGER = Long.MIN_VALUE;
    /** The floor of {@link #AUTO_LINGER}: a few milliseconds, well under a training step. */
    public static final long MIN_AUTO_LINGER_MILLIS = 5;
    /**
     * The default number of writer threads. A batch object's put is bound by the store's latency
     * (an fsync on file://, a round trip on S3), which overlapping writes hide: on this project's
     * machine's disk, 1 MiB objects went from 445-491 MB/s with 4 writers to 549-637 with 8 and
     * 560-627 with 16 (docs/benchmarks.md). Memory in flight is bounded by the encode buffers
     * (one per writer and two more), not by this number alone.
     */
    public static final int DEFAULT_WRITE_PARALLELISM = 8;
    /** The default linger bound ({@link #AUTO_LINGER}). */
    public static final long DEFAULT_MAX_LINGER_MILLIS = AUTO_LINGER;

    /** Options with the default linger bound. */
    public ProducerOptions(Codec codec, int initialGroup, int maxGroup, boolean adaptive, int writeParallelism,
                           boolean allowUnsafeStore) {
        this(codec, initialGroup, maxGroup, adaptive, writeParallelism, allowUnsafeStore, DEFAULT_MAX_LINGER_MILLIS);
    }

    public static ProducerOptions defaults() {
        return new ProducerOptions(Codec.NONE, 1, 64, true, DEFAULT_WRITE_PARALLELISM, false, DEFAULT_MAX_LINGER_MILLIS);
    }

    public ProducerOptions withUnsafeStore(boolean allow) {
        return new ProducerOptions(codec, initialGroup, maxGroup, adaptive, writeParallelism, allow, maxLingerMillis);
    }

    public ProducerOptions withCodec(Codec c) {
        return new ProducerOptions(c, initialGroup, maxGroup, adaptive, writeParallelism, allowUnsafeStore, maxLingerMillis);
    }

    public ProducerOptions withGroup(int initial, int max, boolean adapt) {
        return new ProducerOptions(codec, initial, max, adapt, writeParallelism, allowUnsafeStore, maxLingerMillis);
    }

    public ProducerOptions withWriteParallelism(int n) {
        return new ProducerOptions(codec, initialGroup, maxGroup, adaptive, n, allowUnsafeStore, maxLingerMillis);
    }

    /** The linger bound of adaptive grouping (negative: none; {@link #AUTO_LINGER}: from the commit latency). */
    public ProducerOptions withMaxLinger(long millis) {
        return new ProducerOptions(codec, initialGroup, maxGroup, adaptive, writeParallelism, allowUnsafeStore, millis);
    }
}
