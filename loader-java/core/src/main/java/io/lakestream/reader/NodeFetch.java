package io.lakestream.reader;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One ranged GET per node per step: where this rank sits on its node and how the node's ranks
 * share a step's bytes. The ranks of a node hold adjacent shards, so the node's first local rank
 * (the fetcher, {@link NodeFetcher}) reads the node's contiguous byte range of each step with one
 * ranged GET into a file under {@link #dir()} (tmpfs: {@code /dev/shm}), and every local rank maps
 * that file and reads its own shard in place, CRC32C-checked against its own manifest entry
 * ({@link NodeSlices}). A rank that finds no usable copy in time falls back to its own ranged GET
 * ({@link #fallback()}) or fails with {@link NodeFetchFailedException}: never wrong bytes.
 *
 * @param dir            the directory the node's ranks meet in (tmpfs; {@code /dev/shm} by default)
 * @param jobKey         tells two jobs reading the same stream on one node apart (a torchrun run id,
 *                       the rendezvous address); the ranks of one job must agree on it
 * @param localRank      this rank's index on its node ({@code LOCAL_RANK}); 0 fetches for the node
 * @param localWorldSize ranks on the node ({@code LOCAL_WORLD_SIZE}); at most 64 (one release bit each)
 * @param waitMillis     how long a rank waits for the fetcher's copy of a step (on the env's clock)
 *                       before it falls back or fails; a fetcher seen dead ends the wait at once
 * @param fallback       true: a rank without a usable copy reads its shard itself (one ranged GET);
 *                       false: it fails with {@link NodeFetchFailedException}
 * @param keepSteps      the fetcher removes a step's file once every local rank released it, or
 *                       once it is this many steps behind the newest step it fetched (a local rank
 *                       that died never releases)
 */
public record NodeFetch(Path dir, String jobKey, int localRank, int localWorldSize, long waitMillis, boolean fallback,
                        int keepSteps) {
    public static final Path DEFAULT_DIR = Path.of("/dev/shm");
    public static final long DEFAULT_WAIT_MILLIS = 30_000;
    public static final int DEFAULT_KEEP_STEPS = 16;
    /** Local ranks per node at most: each has one bit of a step file's release word. */
    public static final int MAX_LOCAL_RANKS = 64;

    public NodeFetch {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(jobKey, "jobKey");
        if (localWorldSize < 1 || localWorldSize > MAX_LOCAL_RANKS) {
            throw new IllegalArgumentException("local world size must be 1.." + MAX_LOCAL_RANKS + ", got " + localWorldSize);
        }
        if (localRank < 0 || localRank >= localWorldSize) {
            throw new IllegalArgumentException("local rank " + localRank + " is outside local world size " + localWorldSize);
        }
        if (waitMillis < 0 || keepSteps < 1) {
            throw new IllegalArgumentException("wait must be >= 0 ms and keepSteps >= 1, got " + waitMillis + " and " + keepSteps);
        }
    }

    /** Local rank {@code localRank} of {@code localWorldSize}, meeting under /dev/shm, falling back to its own GET. */
    public static NodeFetch of(int localRank, int localWorldSize) {
        return new NodeFetch(DEFAULT_DIR, "default", localRank, localWorldSize, DEFAULT_WAIT_MILLIS, true, DEFAULT_KEEP_STEPS);
    }

    public NodeFetch withDir(Path d) {
        return new NodeFetch(d, jobKey, localRank, localWorldSize, waitMillis, fallback, keepSteps);
    }

    public NodeFetch withJobKey(String k) {
        return new NodeFetch(dir, k, localRank, localWorldSize, waitMillis, fallback, keepSteps);
    }

    public NodeFetch withWaitMillis(long ms) {
        return new NodeFetch(dir, jobKey, localRank, localWorldSize, ms, fallback, keepSteps);
    }

    public NodeFetch withFallback(boolean f) {
        return new NodeFetch(dir, jobKey, localRank, localWorldSize, waitMillis, f, keepSteps);
    }

    public NodeFetch withKeepSteps(int n) {
        return new NodeFetch(dir, jobKey, localRank, localWorldSize, waitMillis, fallback, n);
    }

    /** Whether this rank fetches for its node. */
    public boolean fetcher() {
        return localRank == 0;
    }

    /** The global rank of the node's first local rank, for global rank {@code rank} (ranks of a node are consecutive). */
    public int firstRank(int rank) {
        if (rank < localRank) {
            throw new IllegalArgumentException("rank " + rank + " cannot be local rank " + localRank + ": a node's ranks are consecutive");
        }
        return rank - localRank;
    }
}
