package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.source.SyntheticSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShardTableTest {
    private static BatchObject.Encoded encode(int worldSize, int samples, Codec codec) {
        SyntheticSource src = new SyntheticSource(samples, 7, 0, 1, 16);
        return BatchObject.encode(src.globalBatch(src.take(0, samples), worldSize), codec, Map.of("producer", "p"));
    }

    private static ShardTable roundTrip(ShardTable t) {
        return ShardTable.fromWire(Json.read(Json.write(t.toWire()), ShardTable.Wire.class, "test"));
    }

    @Test
    void uniformShardsAreOneLengthAndTwoChecksumArraysAndReadBackAsTheSameEntries() {
        BatchObject.Encoded enc = encode(8, 32, Codec.NONE);
        ShardTable t = (ShardTable) enc.shards();
        List<ShardEntry> footer = BatchObject.readFooter(enc.bytes(), "obj").shards();
        assertEquals(footer, t, "the compact table describes exactly the shards the footer lists");
        ShardTable.Wire w = t.toWire();
        assertNotNull(w.length(), "uniform lengths are one number");
        assertNull(w.lengths());
        assertNull(w.rawLength(), "uncompressed: raw lengths are the lengths, not written");
        assertEquals(32L, w.totalSamples(), "an even split is written as its total");
        assertEquals(44, w.crc32c().length(), "8 u32 checksums = 32 bytes = 44 base64 characters");
        ShardTable back = roundTrip(t);
        assertNull(back.check(8, enc.bytes().length, Codec.NONE, 256));
        assertEquals(footer, back);
        assertEquals(footer.get(5).offset(), back.get(5).offset(), "offsets are implied: shards lie back to back");
    }

    @Test
    void unevenAndCompressedShardsKeepOneNumberPerShard() {
        // 13 samples over 4 ranks (4,3,3,3: the §5 split) and LZ4 (lengths differ per shard)
        BatchObject.Encoded enc = encode(4, 13, Codec.LZ4);
        ShardTable t = (ShardTable) enc.shards();
        ShardTable.Wire w = t.toWire();
        assertNotNull(w.lengths());
        assertNotNull(w.rawLengths());
        assertEquals(13L, w.totalSamples());
        assertEquals(BatchObject.readFooter(enc.bytes(), "obj").shards(), roundTrip(t));

        // an explicit split that is not the even one keeps per-shard sample counts
        List<ShardEntry> custom = new ArrayList<>();
        long off = 0;
        long first = 0;
        long[] samples = {1, 5, 0};
        for (long n : samples) {
            custom.add(new ShardEntry(off, 100, 42, 100, n, first, 24L, 7L));
            off += 100;
            first += n;
        }
        ShardTable c = ShardTable.of(custom);
        assertEquals(List.of(1L, 5L, 0L), c.toWire().shardSamples());
        assertEquals(custom, roundTrip(c));
    }

    @Test
    void shardsThatAreNotBackToBackStayPerShard() {
        List<ShardEntry> gap = List.of(new ShardEntry(0, 10, 1, 10, 1, 0), new ShardEntry(20, 10, 2, 10, 1, 1));
        assertNull(ShardTable.of(gap), "offsets are implied, so a gap cannot be written compactly");
    }

    @Test
    void malformedTablesReportWhyInsteadOfThrowingWhileParsing() {
        ShardTable t = (ShardTable) encode(4, 8, Codec.NONE).shards();
        ShardTable.Wire w = t.toWire();
        ShardTable badBase64 = ShardTable.fromWire(new ShardTable.Wire("not base64!", w.headerCrc32c(), w.headerLength(), null,
                w.length(), null, null, null, null, w.totalSamples()));
        assertTrue(badBase64.check(4, 1 << 20, Codec.NONE, 256).contains("crc32c"), badBase64.check(4, 1 << 20, Codec.NONE, 256));
        ShardTable both = ShardTable.fromWire(new ShardTable.Wire(w.crc32c(), w.headerCrc32c(), w.headerLength(), null, w.length(),
                List.of(1L, 2L, 3L, 4L), null, null, null, w.totalSamples()));
        assertTrue(both.check(4, 1 << 20, Codec.NONE, 256).contains("both 'length' and 'lengths'"));
        String wrongWorld = t.check(8, 1 << 20, Codec.NONE, 256);
        assertTrue(wrongWorld.contains("4 shards") && wrongWorld.contains("world size is 8"), wrongWorld);
        String outside = t.check(4, 100, Codec.NONE, 256);
        assertTrue(outside.startsWith("rank 0:") && outside.contains("100-byte object"), outside);
    }

    /** The table the encoder makes from its arrays is the one {@link ShardTable#of} makes from the entries (and writes the same JSON). */
    @Test
    void ofShardsIsOfTheEntries() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        for (int round = 0; round < 2000; round++) {
            int n = 1 + rnd.nextInt(8);
            int cap = n + rnd.nextInt(3); // the encoder's arrays may be longer than the world size
            long[] len = new long[cap];
            long[] raw = new long[cap];
            long[] samples = new long[cap];
            long[] crc = new long[cap];
            long[] hlen = new long[cap];
            long[] hcrc = new long[cap];
            boolean uniform = rnd.nextBoolean();
            for (int i = 0; i < cap; i++) {
                len[i] = uniform ? 4096 : rnd.nextLong(5000);
                raw[i] = rnd.nextInt(3) == 0 ? len[i] + 1 : len[i];
                samples[i] = rnd.nextInt(3) == 0 ? rnd.nextInt(10) : 3;
                crc[i] = rnd.nextInt(50) == 0 ? -1 : rnd.nextLong(1L << 32);
                hlen[i] = rnd.nextInt(50) == 0 ? -2 : rnd.nextLong(len[i] + 1);
                hcrc[i] = rnd.nextInt(50) == 0 ? 1L << 32 : rnd.nextLong(1L << 32);
            }
            List<ShardEntry> entries = new ArrayList<>();
            long at = 0;
            long first = 0;
            for (int i = 0; i < n; i++) {
                entries.add(new ShardEntry(at, len[i], crc[i], raw[i], samples[i], first, hlen[i], hcrc[i]));
                at += len[i];
                first += samples[i];
            }
            ShardTable expected = ShardTable.of(entries);
            List<ShardEntry> got = ShardTable.ofShards(n, len, raw, samples, crc, hlen, hcrc);
            assertEquals(expected == null, !(got instanceof ShardTable), "round " + round);
            assertEquals(entries, got, "round " + round);
            if (expected != null) {
                assertEquals(Json.MAPPER.valueToTree(expected.toWire()), Json.MAPPER.valueToTree(((ShardTable) got).toWire()));
                ShardTable t = (ShardTable) got;
                for (int r = 0; r < n; r++) { // the field-by-field accessors a reader uses say what get(r) says
                    ShardEntry e = entries.get(r);
                    List<Long> fields = List.of(t.offset(r), t.length(r), t.crc32c(r), t.rawLength(r), t.samples(r), t.firstSample(r));
                    assertEquals(List.of(e.offset(), e.length(), e.crc32c(), e.rawLength(), e.samples(), e.firstSample()), fields,
                            "round " + round + " rank " + r);
                }
                int past = n;
                org.junit.jupiter.api.Assertions.assertThrows(IndexOutOfBoundsException.class, () -> t.offset(past));
                org.junit.jupiter.api.Assertions.assertThrows(IndexOutOfBoundsException.class, () -> t.samples(-1));
            }
        }
    }
}
