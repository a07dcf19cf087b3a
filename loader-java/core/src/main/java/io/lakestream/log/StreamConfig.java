package io.lakestream.log;

/**
 * The immutable stream configuration, {@code <stream>/_lakestream.json}, written once by
 * whoever creates the stream (put-if-absent) and never changed.
 *
 * @param format           always "lakestream"
 * @param formatVersion    on-store format version (1)
 * @param worldSize        number of data-parallel ranks every global batch is split into
 * @param snapshotInterval a snapshot is written at every version that is a multiple of this
 * @param keepCheckpoints  retention: how many most recent checkpoints are kept (floor = oldest)
 * @param maxLagSteps      flow control: producers wait while committed steps − latest checkpoint
 *                         step exceeds this (0 = no bound)
 * @param createdAtMillis  creation time (informational)
 * @param indexSegmentSteps steps per step-index segment: segment k lists the TGBs of steps
 *                         [k·n, (k+1)·n), so its content is the same whoever writes it
 */
public record StreamConfig(String format, int formatVersion, int worldSize, int snapshotInterval,
                           int keepCheckpoints, long maxLagSteps, long createdAtMillis, int indexSegmentSteps) {
    public static final String KEY = StreamLayout.CONFIG;
    public static final int FORMAT_VERSION = 1;

    public static StreamConfig of(int worldSize) {
        return new StreamConfig("lakestream", FORMAT_VERSION, worldSize, 64, 2, 0, io.lakestream.time.Clock.system().wallMillis(), 1024);
    }

    public StreamConfig withSnapshotInterval(int n) {
        return new StreamConfig(format, formatVersion, worldSize, n, keepCheckpoints, maxLagSteps, createdAtMillis, indexSegmentSteps);
    }

    public StreamConfig withRetention(int keep, long maxLag) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keep, maxLag, createdAtMillis, indexSegmentSteps);
    }

    public StreamConfig withIndexSegmentSteps(int n) {
        return new StreamConfig(format, formatVersion, worldSize, snapshotInterval, keepCheckpoints, maxLagSteps, createdAtMillis, n);
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
    }
}
