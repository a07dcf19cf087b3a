package io.lakestream.log;

import io.lakestream.time.Clock;

/**
 * The head guard (see {@link LogFollower#follow}): at monotonic time {@code confirmedNanos} of
 * this process (the start of the request that showed it) no version above {@code version}
 * existed, so any such version was created after that moment and log GC, which deletes only
 * version files older than the stream's log grace, cannot have deleted it before
 * {@code confirmedNanos + log grace}. Never another process's clock.
 *
 * <p>Following confirms it (a GET that found nothing, a LIST that found nothing later) and relies
 * on it to read an absent version as "not committed yet"; committing relies on it before writing
 * a version and before writing one again ({@code ManifestLog.guardRewrite}). Not thread-safe:
 * used under the log's mutex, or by the thread opening the log before anyone else sees it.
 */
final class HeadGuard {
    private final Clock clock;
    private boolean confirmed;
    private long version = -1;
    private long confirmedNanos;

    HeadGuard(Clock clock) {
        this.clock = clock;
    }

    /** Nothing above {@code version} existed at monotonic time {@code atNanos} (when the request that showed it started). */
    void confirm(long version, long atNanos) {
        confirmed = true;
        this.version = version;
        confirmedNanos = atNanos;
    }

    /** Whether a head confirmation of {@code version} (or an older one) is younger than {@code maxAgeMillis}. */
    boolean fresh(long version, long maxAgeMillis) {
        return confirmed && this.version <= version && clock.monotonicNanos() - confirmedNanos < maxAgeMillis * 1_000_000;
    }

    /** Forgets the confirmation: the next check must look at the store again. */
    void clear() {
        confirmed = false;
    }
}
