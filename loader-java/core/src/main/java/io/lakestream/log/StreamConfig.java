package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakestream.time.Clock;

/**
 * The immutable stream configuration, {@code <stream>/_lakestream.json}, written once by
 * whoever creates the stream (put-if-absent) and never changed. It holds every setting all
 * processes of a stream must agree on, so each reads it from the store rather than from a flag
 * of its own. A config written before a field existed reads as that field's default
 * (docs/format.md §3).
 *
 * @param format            always "lakestream"
 * @param formatVersion     on-store format version (1)
 * @param worldSize         number of data-parallel ranks every global batch is split into
 * @param snapshotInterval  a snapshot is written at every version that is a multiple of this
 * @param keepCheckpoints   retention: how many most recent checkpoints are kept (floor = oldest)
 * @param maxLagSteps       flow control: producers wait while committed steps − latest checkpoint
 *                          step exceeds this (0 = no bound)
 * @param createdAtMillis   creation time (informational)
 * @param indexSegmentSteps steps per step-index segment: segment k lists the TGBs of steps
 *                          [k·n, (k+1)·n), so its content is the same whoever writes it
 * @param logGraceMs        log grace: GC reclaims a log file only once it is older than this, and
 *                          a follower whose newest version is older than half of it checks for
 *                          reclaimed versions; must exceed clock skew between machines
 * @param orphanGraceMs     default orphan grace of GC: an uncommitted (and fenced) batch object is
 *                          reclaimed only once older than this
 */
public record StreamConfig(String format, int formatVersion, int worldSize, int snapshotInterval,
                           int keepCheckpoints, long maxLagSteps, long createdAtMillis, int indexSegmentSteps,
                           long logGraceMs, long orphanGraceMs) {
    public static final String KEY = StreamLayout.CONFIG;
    public static final int FORMAT_VERSION = 1;
    public static final int DEFAULT_SNAPSHOT_INTERVAL = 64;
    public static final int DEFAULT_KEEP_CHECKPOINTS = 2;
    public static final long DEFAULT_MAX_LAG_STEPS = 0;
    public static final int DEFAULT_INDEX_SEGMENT_STEPS = 1024;
    public static final long DEFAULT_LOG_GRACE_MS = 600_000;
    public static final long DEFAULT_ORPHAN_GRACE_MS = 3_600_000;

    /** The form of configs written before log and orphan grace were stream settings. */
    public StreamConfig(String format, int formatVersion, int worldSize, int snapshotInterval, int keepCheckpoints,
                        long maxLagSteps, long createdAtMillis, int indexSegmentSteps) {
        this(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis, indexSegmentSteps,
                DEFAULT_LOG_GRACE_MS, DEFAULT_ORPHAN_GRACE_MS);
    }

    /**
     * Reads {@code _lakestream.json}: the first three fields are required, every other one
     * defaults when absent (older writers did not write it).
     */
    @JsonCreator
    static StreamConfig fromJson(@JsonProperty("format") String format,
                                 @JsonProperty("format_version") Integer formatVersion,
                                 @JsonProperty("world_size") Integer worldSize,
                                 @JsonProperty("snapshot_interval") Integer snapshotInterval,
                                 @JsonProperty("keep_checkpoints") Integer keepCheckpoints,
                                 @JsonProperty("max_lag_steps") Long maxLagSteps,
                                 @JsonProperty("created_at_millis") Long createdAtMillis,
                                 @JsonProperty("index_segment_steps") Integer indexSegmentSteps,
                                 @JsonProperty("log_grace_ms") Long logGraceMs,
                                 @JsonProperty("orphan_grace_ms") Long orphanGraceMs) {
        return new StreamConfig(required("format", format), required("format_version", formatVersion),
                required("world_size", worldSize), or(snapshotInterval, DEFAULT_SNAPSHOT_INTERVAL),
                or(keepCheckpoints, DEFAULT_KEEP_CHECKPOINTS), or(maxLagSteps, DEFAULT_MAX_LAG_STEPS), or(createdAtMillis, 0L),
                or(indexSegmentSteps, DEFAULT_INDEX_SEGMENT_STEPS), or(logGraceMs, DEFAULT_LOG_GRACE_MS),
                or(orphanGraceMs, DEFAULT_ORPHAN_GRACE_MS));
    }

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new IllegalArgumentException("required field '" + field + "' is missing");
        }
        return value;
    }

    private static <T> T or(T value, T dflt) {
        return value == null ? dflt : value;
    }

    /** A new stream's config with every setting at its default. */
    public static StreamConfig of(int worldSize) {
        return new StreamConfig("lakestream", FORMAT_VERSION, worldSize, DEFAULT_SNAPSHOT_INTERVAL, DEFAULT_KEEP_CHECKPOINTS,
                DEFAULT_MAX_LAG_STEPS, Clock.system().wallMillis(), DEFAULT_INDEX_SEGMENT_STEPS, DEFAULT_LOG_GRACE_MS,
                DEFAULT_ORPHAN_GRACE_MS);
    }

    public StreamConfig withSnapshotInterval(int n) {
        return new StreamConfig(format, formatVersion, worldSize, n, keepCheckpoints, maxLagSteps, createdAtMillis, indexSegmentSteps,
                logGraceMs, orphanGraceMs);
    }

    public StreamConfig withRetention(int keep, long maxLag) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keep, maxLag, createdAtMillis, indexSegmentSteps,
                logGraceMs, orphanGraceMs);
    }

    public StreamConfig withIndexSegmentSteps(int n) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis, n,
                logGraceMs, orphanGraceMs);
    }

    public StreamConfig withLogGraceMs(long ms) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, ms, orphanGraceMs);
    }

    public StreamConfig withOrphanGraceMs(long ms) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, logGraceMs, ms);
    }

    void validate(String where) {
        if (!"lakestream".equals(format)) {
            throw new LogFormatException(where + ": 'format' is '" + format + "', expected 'lakestream'");
        }
        if (formatVersion != FORMAT_VERSION) {
            throw new LogFormatException(where + ": format_version " + formatVersion + " is not supported (this build reads "
                    + FORMAT_VERSION + ")");
        }
        if (worldSize < 1 || worldSize > 1 << 20) {
            throw new LogFormatException(where + ": world_size " + worldSize + " is out of range");
        }
        if (snapshotInterval < 1) {
            throw new LogFormatException(where + ": snapshot_interval " + snapshotInterval + " must be >= 1");
        }
        if (indexSegmentSteps < 1) {
            throw new LogFormatException(where + ": index_segment_steps " + indexSegmentSteps + " must be >= 1");
        }
        if (keepCheckpoints < 1) {
            throw new LogFormatException(where + ": keep_checkpoints " + keepCheckpoints + " must be >= 1");
        }
        if (maxLagSteps < 0) {
            throw new LogFormatException(where + ": max_lag_steps " + maxLagSteps + " must be >= 0 (0: no bound)");
        }
        if (logGraceMs < 1) {
            throw new LogFormatException(where + ": log_grace_ms " + logGraceMs + " must be >= 1");
        }
        if (orphanGraceMs < 0) {
            throw new LogFormatException(where + ": orphan_grace_ms " + orphanGraceMs + " must be >= 0");
        }
    }
}
