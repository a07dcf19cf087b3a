package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.BatchObject;
import io.lakestream.format.Codec;
import io.lakestream.format.Json;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The size of the per-step metadata at W = 8, 128 and 1,024 ranks with fixed-size samples (4
 * samples of 2,048 I32 tokens per rank, the built-in producers' shards): a measurement, not a
 * timed test. Asserts issue 15's target (at most 16 KiB per step at W = 1,024) and the byte
 * bounds of index segments and snapshots, and writes the table docs/scale.md quotes to
 * {@code target/metadata-sizes.md}.
 */
class MetadataSizeTest {
    private static final int SAMPLES_PER_RANK = 4;
    private static final int SEQ_LEN = 2048;
    private static final int GROUP = 8;

    @TempDir
    Path dir;

    record Row(int w, int entryCompact, int entryFull, int versionPerStep, long steps, long segments, long maxSegment,
               long segmentSteps, long maxSnapshot) {}

    @Test
    void perStepMetadataStaysUnder16KiBAtW1024AndSegmentsAndSnapshotsStayUnderTheirByteBound() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int w : new int[] {8, 128, 1024}) {
            rows.add(measure(w));
        }
        StringBuilder md = new StringBuilder();
        md.append("| W | entry, compact (v2) | entry, per shard (v1) | version file per step (groups of ").append(GROUP)
                .append(") | steps committed | segments | largest segment | steps per segment | largest snapshot |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            md.append("| ").append(r.w()).append(" | ").append(r.entryCompact()).append(" B | ").append(r.entryFull()).append(" B | ")
                    .append(r.versionPerStep()).append(" B | ").append(r.steps()).append(" | ").append(r.segments()).append(" | ")
                    .append(r.maxSegment()).append(" B | ").append(r.segmentSteps()).append(" | ").append(r.maxSnapshot())
                    .append(" B |\n");
        }
        System.out.print(md);
        Path out = Path.of("target", "metadata-sizes.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, md.toString());

        Row big = rows.get(2);
        assertTrue(big.entryCompact() <= 16 * 1024, "W=1024 entry is " + big.entryCompact() + " bytes, target 16 KiB");
        assertTrue(big.versionPerStep() <= 16 * 1024, "W=1024 version file per step is " + big.versionPerStep() + " bytes");
        for (Row r : rows) {
            long bound = StreamConfig.DEFAULT_INDEX_SEGMENT_BYTES;
            assertTrue(r.maxSegment() <= bound, "W=" + r.w() + ": a segment of " + r.maxSegment() + " bytes");
            // a snapshot inlines less than one segment's entries, plus producers and checkpoints
            assertTrue(r.maxSnapshot() <= bound + 4096, "W=" + r.w() + ": a snapshot of " + r.maxSnapshot() + " bytes");
            assertTrue(r.segments() >= 1, "W=" + r.w() + ": no segment was written");
        }
        // 8 bytes per rank: two u32 CRCs, base64
        double perRank = (double) (big.entryCompact() - rows.get(0).entryCompact()) / (1024 - 8);
        assertTrue(perRank < 11, "compact entries grow by " + perRank + " bytes per rank");
    }

    private Row measure(int w) {
        SyntheticSource src = new SyntheticSource((long) w * SAMPLES_PER_RANK, 3, 0, 1, SEQ_LEN);
        BatchObject.Encoded enc = BatchObject.encode(src.globalBatch(src.take(0, w * SAMPLES_PER_RANK), w), Codec.NONE,
                Map.of("producer", "tokenizer-00"));
        long objectSize = enc.bytes().length;
        TgbEntry sample = entry(enc, objectSize, 1_000_001);
        int compact = Json.write(sample).length;
        int full = Json.write(sample.inForm(1)).length;

        // enough steps for two segments' worth at this W (a segment closes at 1,024 steps or 1 MiB)
        long perSegment = Math.min(StreamConfig.DEFAULT_INDEX_SEGMENT_STEPS, StreamConfig.DEFAULT_INDEX_SEGMENT_BYTES / compact);
        // and at least three snapshots (every 16 versions)
        long steps = Math.max((2 * perSegment / GROUP + 3) * GROUP, 3 * 16 * GROUP);
        FileStore fs = FileStore.open(dir.resolve("w" + w), true);
        ManifestLog log = ManifestLog.openOrCreate(fs, StreamConfig.of(w).withSnapshotInterval(16));
        long seq = 1_000_000; // realistic widths: a long-running producer's sequence numbers
        long claimed = seq;
        log.commit("tokenizer-00", st -> new Changes(Map.of("tokenizer-00", new ProducerState(3, claimed, null)), List.of(), List.of()));
        int maxVersion = 0;
        for (long s = 0; s < steps; s += GROUP) {
            List<TgbEntry> group = new ArrayList<>();
            for (int i = 0; i < GROUP; i++) {
                group.add(entry(enc, objectSize, ++seq));
            }
            TgbEntry last = group.get(GROUP - 1);
            CommitResult r = log.commit("tokenizer-00", st -> new Changes(Map.of("tokenizer-00",
                    new ProducerState(3, last.seq(), last.cursor())), group, List.of()));
            maxVersion = Math.max(maxVersion, (int) fs.stat(StreamLayout.versionKey(r.version())).orElseThrow().size());
        }
        long segments = 0;
        long maxSegment = 0;
        for (ObjectInfo o : fs.list(StreamLayout.INDEX_PREFIX, null, 100_000)) {
            segments++;
            maxSegment = Math.max(maxSegment, o.size());
        }
        long maxSnapshot = 0;
        for (ObjectInfo o : fs.list(StreamLayout.LOG_PREFIX, null, 100_000)) {
            if (StreamLayout.parse(o.key()) instanceof StreamLayout.Snapshot) {
                maxSnapshot = Math.max(maxSnapshot, o.size());
            }
        }
        ManifestState st = ManifestLog.open(fs).state();
        long segmentSteps = segments == 0 ? 0 : st.indexedSteps() / segments;
        return new Row(w, compact, full, maxVersion / GROUP, steps, segments, maxSegment, segmentSteps, maxSnapshot);
    }

    private static TgbEntry entry(BatchObject.Encoded enc, long objectSize, long seq) {
        return new TgbEntry("tokenizer-00", 3, seq, "shard=00017,offset=" + (123_456_789L + seq),
                StreamLayout.batchObjectKey("tokenizer-00", 3, seq), objectSize, "none", enc.shards());
    }
}
