package io.lakestream.source;

import io.lakestream.format.DType;
import io.lakestream.format.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The samples of one global batch as they are gathered: {@code seqLen} tokens per sample and
 * the ids of the first and last record each sample holds (equal unless the source packs).
 * Reused from batch to batch.
 */
public final class SampleBatch {
    private final int seqLen;
    private final DType tokenType;
    private int[] tokens;
    private long[] first;
    private long[] last;
    private int size;

    public SampleBatch(int seqLen, int capacity) {
        this(seqLen, capacity, DType.I32);
    }

    /**
     * @param tokenType how {@code tokens} is stored: {@link DType#I32}, or {@link DType#U16} for
     *                  vocabularies under 65,536 (half the bytes; a token id that does not fit is
     *                  an error naming it)
     */
    public SampleBatch(int seqLen, int capacity, DType tokenType) {
        if (seqLen < 1 || capacity < 1) {
            throw new IllegalArgumentException("seq-len and capacity must be >= 1");
        }
        if (tokenType != DType.I32 && tokenType != DType.U16) {
            throw new IllegalArgumentException("tokens are stored as I32 or U16, not " + tokenType);
        }
        this.tokenType = tokenType;
        this.seqLen = seqLen;
        this.tokens = new int[Math.multiplyExact(seqLen, capacity)];
        this.first = new long[capacity];
        this.last = new long[capacity];
    }

    public int seqLen() {
        return seqLen;
    }

    public int size() {
        return size;
    }

    public void clear() {
        size = 0;
    }

    /** Appends one sample: {@code seqLen} tokens from {@code row[off..]}. */
    public void add(int[] row, int off, long firstRecord, long lastRecord) {
        if (size == first.length) {
            int cap = first.length * 2;
            tokens = Arrays.copyOf(tokens, Math.multiplyExact(cap, seqLen));
            first = Arrays.copyOf(first, cap);
            last = Arrays.copyOf(last, cap);
        }
        System.arraycopy(row, off, tokens, size * seqLen, seqLen);
        first[size] = firstRecord;
        last[size] = lastRecord;
        size++;
    }

    /** Room for one sample's tokens, written in place: returns the offset into {@link #tokenArray()}. */
    public int addInPlace(long firstRecord, long lastRecord) {
        if (size == first.length) {
            int cap = first.length * 2;
            tokens = Arrays.copyOf(tokens, Math.multiplyExact(cap, seqLen));
            first = Arrays.copyOf(first, cap);
            last = Arrays.copyOf(last, cap);
        }
        first[size] = firstRecord;
        last[size] = lastRecord;
        return size++ * seqLen;
    }

    /** The token buffer {@link #addInPlace} offsets point into (valid until the next add). */
    public int[] tokenArray() {
        return tokens;
    }

    public long firstRecord(int i) {
        return first[i];
    }

    public long lastRecord(int i) {
        return last[i];
    }

    /**
     * The batch split into {@code worldSize} rank shards of contiguous samples, as even as
     * possible (the first {@code n mod W} ranks get one more; a rank may get none): {@code tokens}
     * I32[n, seqLen], {@code record_id} I64[n] and, when {@code withLastRecord},
     * {@code last_record_id} I64[n].
     */
    public List<Map<String, TensorData>> shards(int worldSize, boolean withLastRecord) {
        List<Map<String, TensorData>> out = new ArrayList<>(worldSize);
        int base = size / worldSize;
        int extra = size % worldSize;
        int from = 0;
        for (int r = 0; r < worldSize; r++) {
            int c = base + (r < extra ? 1 : 0);
            Map<String, TensorData> m = new LinkedHashMap<>();
            int[] rows = Arrays.copyOfRange(tokens, from * seqLen, (from + c) * seqLen);
            m.put("tokens", tokenType == DType.U16 ? TensorData.ofU16(rows, c, seqLen) : TensorData.ofInts(rows, c, seqLen));
            m.put("record_id", TensorData.ofLongs(Arrays.copyOfRange(first, from, from + c), c));
            if (withLastRecord) {
                m.put("last_record_id", TensorData.ofLongs(Arrays.copyOfRange(last, from, from + c), c));
            }
            out.add(m);
            from += c;
        }
        return out;
    }
}
