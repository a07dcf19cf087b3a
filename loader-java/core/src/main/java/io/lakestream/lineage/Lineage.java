package io.lakestream.lineage;

import io.lakestream.format.DType;
import io.lakestream.format.FormatException;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.TgbEntry;
import io.lakestream.reader.ShardReads;
import io.lakestream.source.SourceCursors;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Step lineage from the log alone (plus the batch object for record ids): {@link #blame} says
 * what made a step, {@link #find} where a record was trained.
 *
 * <p>{@code find} walks the log's TGB entries (cheap: index segments, no batch objects) and
 * reads only the batch objects that can hold the record: an entry's record range
 * ({@code record_range}, docs/format.md §4; absent in entries written before the field existed)
 * and its producer's cursor range (as {@link SourceCursors} decides for the built-in sources) each
 * rule a batch out; an entry with neither is read. Both work for every step GC has not reclaimed; a reclaimed step is a
 * {@link StepReclaimedException} naming the first step still available.
 */
public final class Lineage {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Lineage() {}

    /** Lineage of every rank of {@code step}. */
    public static StepLineage blame(ObjectStore store, long step) {
        return blame(ManifestLog.open(store, true), step, -1);
    }

    /** Lineage of {@code step}, for one {@code rank} of the stream's world size (-1: every rank). */
    public static StepLineage blame(ObjectStore store, long step, int rank) {
        return blame(ManifestLog.open(store, true), step, rank);
    }

    public static StepLineage blame(ManifestLog log, long step, int rank) {
        ManifestState s = log.state();
        TgbEntry e = entry(log, step);
        int w = e.shards().size();
        if (rank < -1 || rank >= w) {
            throw new IllegalArgumentException("rank " + rank + " is outside the stream's world size " + w);
        }
        String before = null;
        boolean known = e.seq() == 1;
        for (long t = step - 1; !known && t >= s.reclaimedBelowStep(); t--) {
            TgbEntry p = log.entry(t);
            if (p.producer().equals(e.producer()) && p.seq() == e.seq() - 1) {
                before = p.cursor();
                known = true;
            }
        }
        List<StepLineage.RankLineage> ranks = new ArrayList<>();
        for (int r = rank < 0 ? 0 : rank; r < (rank < 0 ? w : rank + 1); r++) {
            var sh = e.shards().get(r);
            long[][] ids = recordIds(log, e, step, r);
            ranks.add(new StepLineage.RankLineage(r, sh.offset(), sh.length(), sh.crc32c(), sh.samples(), sh.firstSample(),
                    ids[0], ids[1]));
        }
        ControlRecord c = s.controlAt(step);
        return new StepLineage(log.store().describe(), step, e.producer(), e.epoch(), e.seq(), before, known, e.cursor(), e.object(),
                e.objectSize(), e.codec(), e.samples(), c == null ? 0 : c.version(), c == null ? Map.of() : c.settings(), e.control(),
                List.copyOf(ranks));
    }

    /** Where record {@code recordId} was or will be trained, among the committed steps GC has not reclaimed. */
    public static RecordSearch find(ObjectStore store, long recordId) {
        return find(ManifestLog.open(store, true), recordId);
    }

    public static RecordSearch find(ManifestLog log, long recordId) {
        ManifestState s = log.state();
        long from = s.reclaimedBelowStep();
        long to = s.committedSteps();
        Map<String, TgbEntry> previous = new HashMap<>(); // each producer's last batch seen in this walk
        List<RecordSearch.Hit> hits = new ArrayList<>();
        int objectsRead = 0;
        for (long step = from; step < to; step++) {
            TgbEntry e = log.entry(step);
            TgbEntry prev = previous.put(e.producer(), e);
            boolean known = e.seq() == 1 || (prev != null && prev.seq() == e.seq() - 1);
            String before = e.seq() == 1 || prev == null ? null : prev.cursor();
            // Either bound rules a batch out without reading it: the entry's record range (written by
            // producers that know their record ids, Python's included; absent in older entries) and
            // the producer's cursors (understood for the built-in sources only).
            if ((e.recordRange() != null && !e.recordRange().mayHold(recordId))
                    || !SourceCursors.mayHold(before, known, e.cursor(), recordId)) {
                continue;
            }
            objectsRead++;
            for (int r = 0; r < e.shards().size(); r++) {
                long[][] ids = recordIds(log, e, step, r);
                if (ids[0] == null) {
                    continue;
                }
                for (int i = 0; i < ids[0].length; i++) {
                    long first = ids[0][i];
                    long last = ids[1] == null ? first : ids[1][i];
                    if (first <= recordId && recordId <= last) {
                        hits.add(new RecordSearch.Hit(step, r, i, e.shards().get(r).firstSample() + i, e.producer(), e.epoch(), e.seq(),
                                e.object()));
                    }
                }
            }
        }
        List<String> pending = new ArrayList<>();
        // A closed stream is final: no producer delivers anything more, whatever its cursor says.
        for (Map.Entry<String, ProducerState> p : s.ended() ? Map.<String, ProducerState>of().entrySet() : s.producers().entrySet()) {
            if (!Boolean.TRUE.equals(SourceCursors.passed(p.getValue().cursor(), recordId))) {
                pending.add(p.getKey());
            }
        }
        String status = !hits.isEmpty() ? "found" : !pending.isEmpty() ? "not_yet_produced" : "not_found";
        return new RecordSearch(log.store().describe(), recordId, status, List.copyOf(hits), List.copyOf(pending), from, to,
                objectsRead, message(recordId, status, hits, pending, s, from, to));
    }

    private static String message(long id, String status, List<RecordSearch.Hit> hits, List<String> pending, ManifestState s, long from,
                                  long to) {
        StringBuilder m = new StringBuilder("record ").append(id);
        String searched = "steps [" + from + ", " + to + ")" + (from > 0 ? " (steps below " + from + " were reclaimed by GC)" : "");
        switch (status) {
            case "found" -> {
                RecordSearch.Hit h = hits.get(0);
                m.append(" is trained at step ").append(h.step()).append(" rank ").append(h.rank()).append(" (sample ").append(h.sample())
                        .append(" of the rank, ").append(h.globalSample()).append(" of the step)");
                if (hits.size() > 1) {
                    RecordSearch.Hit z = hits.get(hits.size() - 1);
                    m.append(" and in ").append(hits.size() - 1).append(" more sample(s), the last at step ").append(z.step())
                            .append(" rank ").append(z.rank());
                }
                if (!pending.isEmpty()) {
                    m.append("; producer(s) ").append(describe(pending, s)).append(" may still deliver more of it");
                }
            }
            case "not_yet_produced" -> m.append(" is not produced yet: no committed step in ").append(searched)
                    .append(" holds it and producer(s) ").append(describe(pending, s)).append(" have not passed it");
            default -> m.append(" is in no committed step in ").append(searched)
                    .append(from > 0 ? "; it may have been trained before step " + from + ", whose lineage is gone" : "")
                    .append(s.ended() ? ", and none ever will: the stream is closed (it ended at step " + s.endStep() + ")"
                            : ", and no producer will deliver it (every cursor has passed it)");
        }
        return m.toString();
    }

    private static String describe(List<String> producers, ManifestState s) {
        List<String> out = new ArrayList<>();
        for (String p : producers) {
            String c = s.producer(p).cursor();
            out.add(p + " (cursor " + (c == null ? "at the start" : c) + (c != null && SourceCursors.passed(c, 0) == null
                    ? ", a format lineage cannot compare" : "") + ")");
        }
        return String.join(", ", out);
    }

    private static TgbEntry entry(ManifestLog log, long step) {
        ManifestState s = log.state();
        if (step >= 0 && step < s.reclaimedBelowStep()) {
            throw new StepReclaimedException(log.store().describe(), step, s.reclaimedBelowStep(), s.floorStep());
        }
        try {
            return log.entry(step);
        } catch (BelowFloorException e) {
            throw new StepReclaimedException(log.store().describe(), step, s.reclaimedBelowStep(), e.floor());
        }
    }

    /** {record_id, last_record_id} of one rank shard (each null when the shard has no such tensor). */
    private static long[][] recordIds(ManifestLog log, TgbEntry e, long step, int rank) {
        String where = "stream " + log.store().describe() + " step " + step + " rank " + rank + " object " + e.object();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment blob;
            try {
                blob = ShardReads.readBlob(log.store(), e, rank, arena, where);
            } catch (NoSuchKeyException gone) {
                ManifestState fresh = ManifestLog.open(log.store(), true).state();
                if (step < fresh.reclaimedBelowStep() || step < fresh.floorStep()) {
                    throw new StepReclaimedException(log.store().describe(), step, Math.max(fresh.reclaimedBelowStep(), fresh.floorStep()),
                            fresh.floorStep());
                }
                throw gone;
            }
            long[] first = null;
            long[] last = null;
            for (TensorBlob.View v : TensorBlob.parse(blob, where)) {
                if (v.name().equals("record_id")) {
                    first = longs(v, where);
                } else if (v.name().equals("last_record_id")) {
                    last = longs(v, where);
                }
            }
            return new long[][] {first, first == null ? null : last};
        }
    }

    private static long[] longs(TensorBlob.View v, String where) {
        if (v.shape().length != 1 || (v.dtype() != DType.I64 && v.dtype() != DType.I32)) {
            throw new FormatException(where + ": tensor '" + v.name() + "' is " + v.dtype() + java.util.Arrays.toString(v.shape())
                    + ", lineage expects I64 or I32 of one dimension");
        }
        long[] out = new long[(int) v.shape()[0]];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.dtype() == DType.I64 ? v.data().get(I64, 8L * i) : v.data().get(I32, 4L * i);
        }
        return out;
    }
}
