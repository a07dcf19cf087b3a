package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
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
 * @param formatVersion     on-store format version: 2 for streams this build creates (compact shard
 *                          tables, index segments bounded in bytes, data layouts), 1 for streams
 *                          of earlier builds, which this build reads and keeps writing as 1
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
 * @param indexSegmentBytes version 2: a step-index segment (and a snapshot's inline tail) closes
 *                          before its TGB entries exceed this many bytes, so neither grows with
 *                          the world size (0 in version 1: segments are bounded in steps only)
 * @param dataLayout        version 2: where batch objects live, {@code producer}
 *                          ({@code data/<producer>/…}) or {@code hashed}
 *                          ({@code data/<hh>/<producer>/…}, spreading requests over 256 key
 *                          prefixes); null in version 1 (= producer)
 */
public record StreamConfig(String format, int formatVersion, int worldSize, int snapshotInterval,
                           int keepCheckpoints, long maxLagSteps, long createdAtMillis, int indexSegmentSteps,
                           long logGraceMs, long orphanGraceMs,
                           @JsonInclude(JsonInclude.Include.NON_DEFAULT) long indexSegmentBytes,
                           @JsonInclude(JsonInclude.Include.NON_NULL) String dataLayout) {
    public static final String KEY = StreamLayout.CONFIG;
    /** The format version of streams this build creates. */
    public static final int FORMAT_VERSION = 2;
    /** The first format version with compact shard tables, byte-bounded index segments and data layouts. */
    public static final int FORMAT_VERSION_COMPACT = 2;
    /** The oldest format version this build reads (and keeps writing in that version). */
    public static final int OLDEST_FORMAT_VERSION = 1;
    /** Version 2's default byte bound of an index segment and of a snapshot's inline tail. */
    public static final long DEFAULT_INDEX_SEGMENT_BYTES = 1L << 20;
    /** Batch objects under {@code data/<producer>/}. */
    public static final String LAYOUT_PRODUCER = "producer";
    /** Batch objects under {@code data/<hh>/<producer>/}, hh from a hash of the object name. */
    public static final String LAYOUT_HASHED = "hashed";
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

    /** A config without the version-2 fields (their defaults for {@code formatVersion}). */
    public StreamConfig(String format, int formatVersion, int worldSize, int snapshotInterval, int keepCheckpoints,
                        long maxLagSteps, long createdAtMillis, int indexSegmentSteps, long logGraceMs, long orphanGraceMs) {
        this(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis, indexSegmentSteps,
                logGraceMs, orphanGraceMs, formatVersion >= FORMAT_VERSION_COMPACT ? DEFAULT_INDEX_SEGMENT_BYTES : 0,
                formatVersion >= FORMAT_VERSION_COMPACT ? LAYOUT_PRODUCER : null);
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
                                 @JsonProperty("orphan_grace_ms") Long orphanGraceMs,
                                 @JsonProperty("index_segment_bytes") Long indexSegmentBytes,
                                 @JsonProperty("data_layout") String dataLayout) {
        int version = required("format_version", formatVersion);
        boolean v2 = version >= FORMAT_VERSION_COMPACT;
        if (!v2 && (indexSegmentBytes != null || dataLayout != null)) {
            // Present at all, whatever the value (0 too): an older reader would ignore it and misread the stream.
            throw new IllegalArgumentException("format_version " + version + " has no '"
                    + (indexSegmentBytes != null ? "index_segment_bytes" : "data_layout") + "' (it needs format_version "
                    + FORMAT_VERSION_COMPACT + "): a reader MUST refuse this config");
        }
        // Version 1 knows neither field: one there is kept as written, and validate() refuses it
        // (an older reader would ignore it and misread the stream). Absent byte bound: none (a
        // creator always writes the bound it chose, and 0 is not written).
        return new StreamConfig(required("format", format), version,
                required("world_size", worldSize), or(snapshotInterval, DEFAULT_SNAPSHOT_INTERVAL),
                or(keepCheckpoints, DEFAULT_KEEP_CHECKPOINTS), or(maxLagSteps, DEFAULT_MAX_LAG_STEPS), or(createdAtMillis, 0L),
                or(indexSegmentSteps, DEFAULT_INDEX_SEGMENT_STEPS), or(logGraceMs, DEFAULT_LOG_GRACE_MS),
                or(orphanGraceMs, DEFAULT_ORPHAN_GRACE_MS), or(indexSegmentBytes, 0L),
                or(dataLayout, v2 ? LAYOUT_PRODUCER : null));
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
                DEFAULT_ORPHAN_GRACE_MS, DEFAULT_INDEX_SEGMENT_BYTES, LAYOUT_PRODUCER);
    }

    public StreamConfig withSnapshotInterval(int n) {
        return new StreamConfig(format, formatVersion, worldSize, n, keepCheckpoints, maxLagSteps, createdAtMillis, indexSegmentSteps,
                logGraceMs, orphanGraceMs, indexSegmentBytes, dataLayout);
    }

    public StreamConfig withRetention(int keep, long maxLag) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keep, maxLag, createdAtMillis, indexSegmentSteps,
                logGraceMs, orphanGraceMs, indexSegmentBytes, dataLayout);
    }

    public StreamConfig withIndexSegmentSteps(int n) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis, n,
                logGraceMs, orphanGraceMs, indexSegmentBytes, dataLayout);
    }

    public StreamConfig withLogGraceMs(long ms) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, ms, orphanGraceMs, indexSegmentBytes, dataLayout);
    }

    public StreamConfig withOrphanGraceMs(long ms) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, logGraceMs, ms, indexSegmentBytes, dataLayout);
    }

    /** Version 2: the byte bound of an index segment and a snapshot's inline tail (0: steps only). */
    public StreamConfig withIndexSegmentBytes(long bytes) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, logGraceMs, orphanGraceMs, bytes, dataLayout);
    }

    /** Version 2: where batch objects live ({@link #LAYOUT_PRODUCER} or {@link #LAYOUT_HASHED}). */
    public StreamConfig withDataLayout(String layout) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, logGraceMs, orphanGraceMs, indexSegmentBytes, layout);
    }

    /**
     * The same settings in format version 1 (as earlier builds created streams): for tests and
     * tools that must produce a stream older readers can read.
     */
    public StreamConfig asVersion1() {
        return new StreamConfig(format, 1, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis,
                indexSegmentSteps, logGraceMs, orphanGraceMs, 0, null);
    }

    /** Whether TGB entries of this stream are written as compact shard tables (format version 2). */
    public boolean compactEntries() {
        return formatVersion >= FORMAT_VERSION_COMPACT;
    }

    /** Whether batch objects live under hashed prefixes. */
    public boolean hashedLayout() {
        return LAYOUT_HASHED.equals(dataLayout);
    }

    void validate(String where) {
        if (!"lakestream".equals(format)) {
            throw new LogFormatException(where + ": 'format' is '" + format + "', expected 'lakestream'");
        }
        if (formatVersion < OLDEST_FORMAT_VERSION || formatVersion > FORMAT_VERSION) {
            throw new LogFormatException(where + ": format_version " + formatVersion + " is not supported (this build reads "
                    + OLDEST_FORMAT_VERSION + " to " + FORMAT_VERSION + ")");
        }
        if (formatVersion < FORMAT_VERSION_COMPACT && (indexSegmentBytes != 0 || dataLayout != null)) {
            throw new LogFormatException(where + ": format_version " + formatVersion + " has no 'index_segment_bytes' or"
                    + " 'data_layout' (they need format_version " + FORMAT_VERSION_COMPACT + ")");
        }
        if (indexSegmentBytes < 0) {
            throw new LogFormatException(where + ": index_segment_bytes " + indexSegmentBytes + " must be >= 0 (0: no byte bound)");
        }
        if (formatVersion >= FORMAT_VERSION_COMPACT && !LAYOUT_PRODUCER.equals(dataLayout) && !LAYOUT_HASHED.equals(dataLayout)) {
            throw new LogFormatException(where + ": data_layout '" + dataLayout + "' is not '" + LAYOUT_PRODUCER + "' or '"
                    + LAYOUT_HASHED + "'");
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
