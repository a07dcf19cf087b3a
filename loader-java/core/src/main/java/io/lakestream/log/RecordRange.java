package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * The record ids a global batch can hold (docs/format.md §4, {@code record_range}): every sample's
 * records {@code [record_id, last_record_id]} (or {@code [record_id, record_id]}) lie inside
 * {@code [first, last]}. A bound, not a list: {@code find} reads a batch object only when its
 * range holds the id, so a lookup reads the few objects that can hold it instead of all of them.
 *
 * <p>Both fields are boxed so that an entry missing one is told apart from one saying 0: the log
 * refuses it ({@link TgbEntry#validate}) rather than reading a wrong bound.
 */
public record RecordRange(Long first, Long last) {
    /** Name of the tensor holding each sample's (first) record id, as every built-in source writes it. */
    public static final String RECORD_ID = "record_id";
    /** Name of the tensor holding each sample's last record id (packing sources). */
    public static final String LAST_RECORD_ID = "last_record_id";

    /** Whether a sample of the batch can hold (part of) record {@code id}. */
    public boolean mayHold(long id) {
        return first <= id && id <= last;
    }

    /** Why this range is malformed, or null when it is well formed. */
    @JsonIgnore
    String problem() {
        if (first == null || last == null) {
            return "record_range needs both 'first' and 'last'";
        }
        return first > last ? "record_range first " + first + " is above last " + last : null;
    }

    /**
     * The range of a global batch's rank shards, as lineage reads them ({@code record_id} and
     * {@code last_record_id}, I64 or I32 of one dimension, one per sample), or null when it cannot
     * be stated: no sample carries a record id, or a shard's record ids have a form lineage does
     * not read (then {@code find} reads that batch and reports the form, as without a range).
     * A shard without {@code record_id} holds no record that lineage can find, so it widens
     * nothing.
     */
    public static RecordRange of(List<? extends Map<String, TensorData>> shards) {
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        boolean any = false;
        for (Map<String, TensorData> shard : shards) {
            TensorData first = shard.get(RECORD_ID);
            if (first == null) {
                continue;
            }
            TensorData last = shard.get(LAST_RECORD_ID);
            if (!idTensor(first) || (last != null && (!idTensor(last) || last.shape()[0] != first.shape()[0]))) {
                return null;
            }
            ByteBuffer f = ByteBuffer.wrap(first.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer l = last == null ? null : ByteBuffer.wrap(last.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < first.shape()[0]; i++) {
                long a = get(f, first.dtype(), i);
                // max(a, b): a sample whose last id is below its first matches nothing, and the
                // bound stays well formed (first <= last)
                long b = l == null ? a : Math.max(a, get(l, last.dtype(), i));
                lo = Math.min(lo, a);
                hi = Math.max(hi, b);
                any = true;
            }
        }
        return any ? new RecordRange(lo, hi) : null;
    }

    private static boolean idTensor(TensorData t) {
        return t.shape().length == 1 && (t.dtype() == DType.I64 || t.dtype() == DType.I32);
    }

    private static long get(ByteBuffer b, DType t, int i) {
        return t == DType.I64 ? b.getLong(8 * i) : b.getInt(4 * i);
    }
}
