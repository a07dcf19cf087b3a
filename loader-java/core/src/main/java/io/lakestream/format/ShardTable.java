package io.lakestream.format;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * The shard table of one global batch in its compact form (docs/format.md §4.2): what a reader
 * needs to find and verify every rank's bytes, in a size that grows by 8 bytes per rank (two
 * CRC32Cs) instead of ~100. Offsets are implied (shards lie back to back from byte 0, as
 * {@link BatchObject} writes them); a length, raw length, header length or sample count that is
 * the same for every shard is stored once, otherwise as one number per shard; samples split
 * evenly over the ranks (the built-in producers' rule) are stored as their total; the checksums
 * are base64 of little-endian u32s.
 *
 * <p>It is a read-only {@code List<ShardEntry>}: {@link #get} builds the entry of one rank, so
 * every reader of {@code TgbEntry.shards()} works unchanged. A table parsed from the store may be
 * malformed (bad base64, arrays of the wrong length); it then records why and
 * {@link #check} reports it, naming the batch, before anything trusts it.
 */
public final class ShardTable extends AbstractList<ShardEntry> implements RandomAccess {
    private final int count;
    private final Column lengths;
    private final Column rawLengths; // null: every raw length equals the stored length
    private final Column headerLengths; // null: no header fields
    private final long totalSamples;
    private final long[] shardSamples; // null: split evenly (§5, a partial last batch)
    private final int[] crcs;
    private final int[] headerCrcs; // null: no header fields
    private final long[] offsets; // prefix sums when lengths differ; null when uniform
    private final long[] firstSamples; // prefix sums when samples are explicit; null when even
    private final String problem; // why a parsed table is malformed, or null

    /** A number per shard: one value for all, or one each. */
    private record Column(long all, long[] each) {
        long get(int i) {
            return each == null ? all : each[i];
        }

        /** Of the first {@code n} values of {@code v} (copied if kept). */
        static Column of(long[] v, int n) {
            for (int i = 1; i < n; i++) {
                if (v[i] != v[0]) {
                    return new Column(0, java.util.Arrays.copyOf(v, n));
                }
            }
            return new Column(n == 0 ? 0 : v[0], null);
        }

        static Column of(long[] v) {
            for (long x : v) {
                if (x != v[0]) {
                    return new Column(0, v);
                }
            }
            return new Column(v.length == 0 ? 0 : v[0], null);
        }

        Long single() {
            return each == null ? all : null;
        }

        List<Long> array() {
            return each == null ? null : java.util.Arrays.stream(each).boxed().toList();
        }
    }

    private ShardTable(int count, Column lengths, Column rawLengths, Column headerLengths, long totalSamples, long[] shardSamples,
                       int[] crcs, int[] headerCrcs, String problem) {
        this.count = count;
        this.lengths = lengths;
        this.rawLengths = rawLengths;
        this.headerLengths = headerLengths;
        this.totalSamples = totalSamples;
        this.shardSamples = shardSamples;
        this.crcs = crcs;
        this.headerCrcs = headerCrcs;
        this.problem = problem;
        if (problem == null && lengths.each() != null) {
            offsets = new long[count];
            for (int i = 1; i < count; i++) {
                offsets[i] = offsets[i - 1] + lengths.each()[i - 1];
            }
        } else {
            offsets = null;
        }
        if (problem == null && shardSamples != null) {
            firstSamples = new long[count];
            for (int i = 1; i < count; i++) {
                firstSamples[i] = firstSamples[i - 1] + shardSamples[i - 1];
            }
        } else {
            firstSamples = null;
        }
    }

    private static ShardTable malformed(String why) {
        return new ShardTable(0, new Column(0, null), null, null, 0, null, new int[0], null, why);
    }

    /**
     * The compact table of {@code shards}, or null if they cannot be written compactly: shards not
     * back to back from offset 0, header fields on some shards only, values out of range. (Such
     * entries, e.g. of other writers, keep the per-shard form; both are valid.)
     */
    public static ShardTable of(List<ShardEntry> shards) {
        if (shards instanceof ShardTable t) {
            return t.problem == null ? t : null;
        }
        int n = shards.size();
        if (n == 0) {
            return null;
        }
        long[] len = new long[n];
        long[] raw = new long[n];
        long[] hlen = new long[n];
        long[] samples = new long[n];
        int[] crc = new int[n];
        int[] hcrc = new int[n];
        boolean rawIsLength = true;
        boolean headers = shards.get(0).headerLength() != null;
        long offset = 0;
        long total = 0;
        for (int i = 0; i < n; i++) {
            ShardEntry s = shards.get(i);
            if (s.offset() != offset || s.length() < 0 || s.crc32c() < 0 || s.crc32c() > 0xFFFF_FFFFL || s.samples() < 0
                    || s.firstSample() != total || (s.headerLength() != null) != headers || (s.headerCrc32c() != null) != headers) {
                return null;
            }
            if (headers && (s.headerLength() < 0 || s.headerCrc32c() < 0 || s.headerCrc32c() > 0xFFFF_FFFFL)) {
                return null;
            }
            len[i] = s.length();
            raw[i] = s.rawLength();
            rawIsLength &= s.rawLength() == s.length();
            samples[i] = s.samples();
            crc[i] = (int) s.crc32c();
            if (headers) {
                hlen[i] = s.headerLength();
                hcrc[i] = (int) (long) s.headerCrc32c();
            }
            offset = Math.addExact(offset, s.length());
            total = Math.addExact(total, s.samples());
        }
        return new ShardTable(n, Column.of(len), rawIsLength ? null : Column.of(raw), headers ? Column.of(hlen) : null, total,
                evenSplit(samples, total) ? null : samples, crc, headers ? hcrc : null, null);
    }

    /**
     * {@link #of} of the entries of {@code n} shards lying back to back from offset 0, each with
     * header fields, given as the encoder's per-shard arrays (their first {@code n} values, copied
     * where kept): the same table, without building the entries first (issue 23). Values {@link
     * #of} refuses give the per-shard list instead, as there.
     */
    public static List<ShardEntry> ofShards(int n, long[] length, long[] rawLength, long[] samples, long[] crc32c,
                                            long[] headerLength, long[] headerCrc32c) {
        boolean compact = n > 0;
        long offset = 0;
        long total = 0;
        for (int i = 0; i < n && compact; i++) {
            compact = length[i] >= 0 && crc32c[i] >= 0 && crc32c[i] <= 0xFFFF_FFFFL && samples[i] >= 0 && headerLength[i] >= 0
                    && headerCrc32c[i] >= 0 && headerCrc32c[i] <= 0xFFFF_FFFFL;
            offset = Math.addExact(offset, length[i]);
            total = Math.addExact(total, samples[i]);
        }
        if (!compact) {
            List<ShardEntry> entries = new java.util.ArrayList<>(n);
            long at = 0;
            long first = 0;
            for (int i = 0; i < n; i++) {
                entries.add(new ShardEntry(at, length[i], crc32c[i], rawLength[i], samples[i], first, headerLength[i], headerCrc32c[i]));
                at += length[i];
                first += samples[i];
            }
            ShardTable t = of(entries);
            return t != null ? t : List.copyOf(entries);
        }
        int[] crc = new int[n];
        int[] hcrc = new int[n];
        boolean rawIsLength = true;
        for (int i = 0; i < n; i++) {
            crc[i] = (int) crc32c[i];
            hcrc[i] = (int) headerCrc32c[i];
            rawIsLength &= rawLength[i] == length[i];
        }
        return new ShardTable(n, Column.of(length, n), rawIsLength ? null : Column.of(rawLength, n), Column.of(headerLength, n), total,
                evenSplit(samples, n, total) ? null : java.util.Arrays.copyOf(samples, n), crc, hcrc, null);
    }

    private static boolean evenSplit(long[] samples, long total) {
        return evenSplit(samples, samples.length, total);
    }

    private static boolean evenSplit(long[] samples, int n, long total) {
        for (int r = 0; r < n; r++) {
            if (samples[r] != evenSamples(total, n, r)) {
                return false;
            }
        }
        return true;
    }

    /** Shard {@code r}'s samples when {@code total} are split evenly over {@code n} ranks, the first {@code total mod n} getting one more. */
    static long evenSamples(long total, int n, int r) {
        return total / n + (r < total % n ? 1 : 0);
    }

    /** Shard count (the world size it was written for). */
    @Override
    public int size() {
        return count;
    }

    @Override
    public ShardEntry get(int r) {
        checkRank(r);
        Long hl = headerLengths == null ? null : headerLengths.get(r);
        Long hc = headerCrcs == null ? null : Integer.toUnsignedLong(headerCrcs[r]);
        return new ShardEntry(offset(r), length(r), crc32c(r), rawLength(r), samples(r), firstSample(r), hl, hc);
    }

    // Rank r's fields of ShardEntry one by one, for a reader that needs them per step without
    // building the entry and its boxed header fields (issue 23: the read path's garbage).

    public long offset(int r) {
        checkRank(r);
        return offsets == null ? r * lengths.get(r) : offsets[r];
    }

    public long length(int r) {
        checkRank(r);
        return lengths.get(r);
    }

    public long crc32c(int r) {
        checkRank(r);
        return Integer.toUnsignedLong(crcs[r]);
    }

    public long rawLength(int r) {
        checkRank(r);
        return rawLengths == null ? lengths.get(r) : rawLengths.get(r);
    }

    public long samples(int r) {
        checkRank(r);
        return shardSamples == null ? evenSamples(totalSamples, count, r) : shardSamples[r];
    }

    public long firstSample(int r) {
        checkRank(r);
        return firstSamples != null ? firstSamples[r] : r * (totalSamples / count) + Math.min(r, totalSamples % count);
    }

    private void checkRank(int r) {
        if (r < 0 || r >= count) {
            throw new IndexOutOfBoundsException("rank " + r + " of a " + count + "-shard table");
        }
    }

    /** Samples of the whole batch. */
    public long totalSamples() {
        return totalSamples;
    }

    /**
     * Checks what a reader trusts before it sizes or reads anything: a well-formed table of
     * {@code worldSize} shards, lying inside the {@code objectSize}-byte object, with raw lengths
     * {@code codec} can produce (at most {@code maxLz4Ratio} times the stored length plus 64 for
     * LZ4). Returns null, or what is wrong (naming the rank where one is at fault).
     */
    public String check(int worldSize, long objectSize, Codec codec, long maxLz4Ratio) {
        if (problem != null) {
            return problem;
        }
        if (count != worldSize) {
            return "has " + count + " shards (crc32c holds " + count + " checksums), world size is " + worldSize;
        }
        long end = 0;
        for (int r = 0; r < count; r++) {
            long len = lengths.get(r);
            long raw = rawLengths == null ? len : rawLengths.get(r);
            if (len < 0 || end > objectSize - len) {
                return "rank " + r + ": bytes [" + end + ", +" + len + ") are not inside the " + objectSize + "-byte object";
            }
            end += len;
            long maxRaw = codec == Codec.NONE ? len : len * maxLz4Ratio + 64;
            if (raw < 0 || raw > maxRaw || (codec == Codec.NONE && raw != len)) {
                return "rank " + r + ": raw_length " + raw + " is impossible for a " + codec.id() + " shard of " + len + " bytes";
            }
            if (headerLengths != null && (headerLengths.get(r) < 0 || headerLengths.get(r) > raw)) {
                return "rank " + r + ": header_length " + headerLengths.get(r) + " is outside its " + raw + "-byte tensor blob";
            }
            if (shardSamples != null && shardSamples[r] < 0) {
                return "rank " + r + ": samples " + shardSamples[r] + " is negative";
            }
        }
        if (totalSamples < 0) {
            return "total_samples " + totalSamples + " is negative";
        }
        return null;
    }

    // ---------------------------------------------------------------- JSON form

    /**
     * The JSON object of a compact table (docs/format.md §4.2). For each per-shard number exactly
     * one of the single form ({@code length}) and the array form ({@code lengths}) is present;
     * {@code raw_length}/{@code raw_lengths} absent: equal to the lengths; header fields absent
     * together; {@code total_samples}: split evenly, {@code shard_samples}: as listed.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Wire(String crc32c, String headerCrc32c, Long headerLength, List<Long> headerLengths, Long length,
                       List<Long> lengths, Long rawLength, List<Long> rawLengths, List<Long> shardSamples, Long totalSamples) {}

    public Wire toWire() {
        if (problem != null) {
            throw new IllegalStateException("a malformed shard table is never written: " + problem);
        }
        return new Wire(U32Base64.encode(crcs), headerCrcs == null ? null : U32Base64.encode(headerCrcs),
                headerLengths == null ? null : headerLengths.single(), headerLengths == null ? null : headerLengths.array(),
                lengths.single(), lengths.array(), rawLengths == null ? null : rawLengths.single(),
                rawLengths == null ? null : rawLengths.array(),
                shardSamples == null ? null : java.util.Arrays.stream(shardSamples).boxed().toList(),
                shardSamples == null ? totalSamples : null);
    }

    /**
     * Writes the JSON object of {@link #toWire()} to {@code g}, byte for byte as the mapper writes
     * that record (the same fields in the same order: sorted, absent ones omitted), without
     * building it: no boxed numbers, lists or base64 strings per entry written (issue 23).
     */
    public void writeJson(com.fasterxml.jackson.core.JsonGenerator g) throws java.io.IOException {
        if (problem != null) {
            throw new IllegalStateException("a malformed shard table is never written: " + problem);
        }
        g.writeStartObject();
        g.writeFieldName("crc32c");
        U32Base64.write(g, crcs);
        if (headerCrcs != null) {
            g.writeFieldName("header_crc32c");
            U32Base64.write(g, headerCrcs);
        }
        if (headerLengths != null) {
            writeColumn(g, "header_length", "header_lengths", headerLengths);
        }
        writeColumn(g, "length", "lengths", lengths);
        if (rawLengths != null) {
            writeColumn(g, "raw_length", "raw_lengths", rawLengths);
        }
        if (shardSamples != null) {
            g.writeFieldName("shard_samples");
            g.writeArray(shardSamples, 0, count);
        } else {
            g.writeFieldName("total_samples");
            g.writeNumber(totalSamples);
        }
        g.writeEndObject();
    }

    private static void writeColumn(com.fasterxml.jackson.core.JsonGenerator g, String single, String array, Column c)
            throws java.io.IOException {
        if (c.each() == null) {
            g.writeFieldName(single);
            g.writeNumber(c.all());
        } else {
            g.writeFieldName(array);
            g.writeArray(c.each(), 0, c.each().length);
        }
    }

    /** The table a parsed JSON object describes; never throws (a malformed one reports itself in {@link #check}). */
    public static ShardTable fromWire(Wire w) {
        if (w.crc32c() == null) {
            return malformed("shard_table: field 'crc32c' is missing");
        }
        int[] crc = U32Base64.decode(w.crc32c());
        if (crc == null) {
            return malformed("shard_table: 'crc32c' is not base64 of little-endian u32 checksums");
        }
        int n = crc.length;
        if (n == 0) {
            return malformed("shard_table: 'crc32c' holds no checksum");
        }
        int[] hcrc = null;
        if (w.headerCrc32c() != null) {
            hcrc = U32Base64.decode(w.headerCrc32c());
            if (hcrc == null || hcrc.length != n) {
                return malformed("shard_table: 'header_crc32c' is not base64 of " + n + " little-endian u32 checksums");
            }
        }
        Object len = column("length", w.length(), w.lengths(), n, true);
        if (len instanceof String why) {
            return malformed(why);
        }
        Object raw = column("raw_length", w.rawLength(), w.rawLengths(), n, false);
        if (raw instanceof String why) {
            return malformed(why);
        }
        Object hlen = column("header_length", w.headerLength(), w.headerLengths(), n, false);
        if (hlen instanceof String why) {
            return malformed(why);
        }
        if ((hlen == null) != (hcrc == null)) {
            return malformed("shard_table: header lengths and 'header_crc32c' must be present together");
        }
        long[] samples = null;
        long total;
        if ((w.totalSamples() == null) == (w.shardSamples() == null)) {
            return malformed("shard_table: exactly one of 'total_samples' and 'shard_samples' must be present");
        } else if (w.totalSamples() != null) {
            total = w.totalSamples();
        } else {
            if (w.shardSamples().size() != n || w.shardSamples().contains(null)) {
                return malformed("shard_table: 'shard_samples' has " + w.shardSamples().size() + " numbers, 'crc32c' " + n);
            }
            samples = w.shardSamples().stream().mapToLong(Long::longValue).toArray();
            total = 0;
            for (long s : samples) {
                if (s < 0) {
                    return malformed("shard_table: 'shard_samples' holds a negative count " + s);
                }
                total += s;
            }
        }
        return new ShardTable(n, (Column) len, (Column) raw, (Column) hlen, total, samples, crc, hcrc, null);
    }

    /**
     * The u32s of a column's base64 text {@code buf[off, off + len)} as a streaming parser holds
     * it, or null where {@link #fromWire} might not read it the same (text that is not canonical
     * base64; the caller then leaves the table to {@code fromWire}).
     */
    public static int[] u32s(char[] buf, int off, int len) {
        return U32Base64.decodeCanonical(buf, off, len);
    }

    /** The base64 text of a column of u32s (what {@link #u32s} reads back). */
    public static String u32Text(int[] v) {
        return U32Base64.encode(v);
    }

    /**
     * What {@link #fromWire} returns for a table whose per-shard numbers are single values
     * ({@code length}, {@code raw_length} and {@code header_length}, the latter two when present)
     * and whose samples are a {@code total_samples}, the shape every table of equal shards has,
     * without the wire record, its boxed numbers and base64 strings (a reader catching up
     * through index segments builds one table per step: issue 23). Columns equal to those of
     * {@code like} (the previous entry's table, or null) are shared, not built again. Null where
     * the table would be malformed: the caller leaves it to {@code fromWire}, which words why.
     *
     * @param headerCrc     null when absent
     * @param rawLength     negative when absent (a raw length is never negative in a well-formed table)
     * @param headerLength  negative when absent
     */
    public static ShardTable uniform(int[] crc, int[] headerCrc, long length, long rawLength, long headerLength, long totalSamples,
                                     ShardTable like) {
        int n = crc.length;
        if (n == 0 || (headerCrc != null && headerCrc.length != n) || (headerCrc != null) != (headerLength >= 0)) {
            return null;
        }
        Column len = like != null && like.lengths.each() == null && like.lengths.all() == length ? like.lengths : new Column(length, null);
        Column raw = null;
        if (rawLength >= 0) {
            raw = like != null && like.rawLengths != null && like.rawLengths.each() == null && like.rawLengths.all() == rawLength
                    ? like.rawLengths : new Column(rawLength, null);
        }
        Column hlen = null;
        if (headerLength >= 0) {
            hlen = like != null && like.headerLengths != null && like.headerLengths.each() == null
                    && like.headerLengths.all() == headerLength ? like.headerLengths : new Column(headerLength, null);
        }
        return new ShardTable(n, len, raw, hlen, totalSamples, null, crc, headerCrc, null);
    }

    /** A Column, null (absent and optional), or the reason it is malformed. */
    private static Object column(String name, Long single, List<Long> each, int n, boolean required) {
        if (single != null && each != null) {
            return "shard_table: both '" + name + "' and '" + name + "s' are present";
        }
        if (single != null) {
            return new Column(single, null);
        }
        if (each == null) {
            return required ? "shard_table: one of '" + name + "' and '" + name + "s' is required" : null;
        }
        if (each.size() != n || each.contains(null)) {
            return "shard_table: '" + name + "s' has " + each.size() + " numbers, 'crc32c' " + n;
        }
        return new Column(0, each.stream().mapToLong(Long::longValue).toArray());
    }
}
