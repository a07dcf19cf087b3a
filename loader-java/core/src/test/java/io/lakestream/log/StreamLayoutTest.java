package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StreamLayoutTest {
    @Test
    void everyKindOfKeyRoundTrips() {
        List<StreamLayout.Key> keys = List.of(new StreamLayout.Config(), new StreamLayout.SnapshotHint(),
                new StreamLayout.Version(0), new StreamLayout.Version(7), new StreamLayout.Version(Long.MAX_VALUE),
                new StreamLayout.Snapshot(64), new StreamLayout.Snapshot(Long.MAX_VALUE),
                new StreamLayout.IndexSegment(0), new StreamLayout.IndexSegment(1024L * 1024),
                new StreamLayout.BatchObject("p0", 1, 1), new StreamLayout.BatchObject("tok.en-izer_3", 12, 999_999_999_999L),
                // wider than the padding: %08d / %012d simply print more digits
                new StreamLayout.BatchObject("p", 123_456_789_012L, Long.MAX_VALUE),
                // the hashed data layout, also with a two-character producer id (a hash-like name)
                new StreamLayout.BatchObject("p0", 1, 1, true), new StreamLayout.BatchObject("ab", 3, 4, true),
                new StreamLayout.BatchObject("ab", 3, 4));
        for (StreamLayout.Key k : keys) {
            assertEquals(k, StreamLayout.parse(k.key()), k.key());
        }
    }

    @Test
    void keysHaveTheDocumentedForm() {
        assertEquals("_lakestream.json", StreamLayout.CONFIG);
        assertEquals("_log/00000000000000000042.json", StreamLayout.versionKey(42));
        assertEquals("_log/00000000000000000064.snapshot.json", StreamLayout.snapshotKey(64));
        assertEquals("_log/_last_snapshot", StreamLayout.SNAPSHOT_HINT);
        assertEquals("_index/00000000000000001024.json", StreamLayout.segmentKey(1024));
        assertEquals("data/p0/00000002-000000000009.tgb", StreamLayout.batchObjectKey("p0", 2, 9));
        // list bounds: from includes v's files, after excludes them, both before v+1's
        String v = StreamLayout.versionKey(5);
        String snap = StreamLayout.snapshotKey(5);
        String next = StreamLayout.versionKey(6);
        assertTrue(StreamLayout.logFrom(5).compareTo(v) < 0 && StreamLayout.logFrom(5).compareTo(snap) < 0);
        assertTrue(StreamLayout.logAfter(5).compareTo(v) > 0 && StreamLayout.logAfter(5).compareTo(snap) > 0);
        assertTrue(StreamLayout.logAfter(5).compareTo(next) < 0);
        assertTrue(StreamLayout.logAfter(-1).compareTo(StreamLayout.versionKey(0)) < 0, "an empty log lists from the start");
    }

    @Test
    void hashedBatchKeysCarryTheDocumentedHashAndAWrongHashIsNotAKey() {
        // hh = low byte of CRC32C("p0/00000002-000000000009.tgb"), docs/format.md §2
        byte[] name = "p0/00000002-000000000009.tgb".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        String hh = String.format("%02x", io.lakestream.format.Crc32c.of(name, 0, name.length) & 0xff);
        String key = "data/" + hh + "/p0/00000002-000000000009.tgb";
        assertEquals(key, StreamLayout.hashedBatchObjectKey("p0", 2, 9));
        assertEquals(key, StreamLayout.batchObjectKey(StreamConfig.of(1).withDataLayout(StreamConfig.LAYOUT_HASHED), "p0", 2, 9));
        assertEquals("data/p0/00000002-000000000009.tgb", StreamLayout.batchObjectKey(StreamConfig.of(1), "p0", 2, 9));
        String other = hh.equals("00") ? "01" : "00";
        StreamLayout.Key wrong = StreamLayout.parse("data/" + other + "/p0/00000002-000000000009.tgb");
        assertInstanceOf(StreamLayout.Unknown.class, wrong);
        assertTrue(((StreamLayout.Unknown) wrong).reason().contains("hash prefix"), wrong.toString());
        assertInstanceOf(StreamLayout.Unknown.class, StreamLayout.parse("data/" + hh.toUpperCase() + "x/p0/00000002-000000000009.tgb"));
    }

    @Test
    void formattingRefusesWhatNoKeyCanHold() {
        assertThrows(IllegalArgumentException.class, () -> StreamLayout.versionKey(-1));
        assertThrows(IllegalArgumentException.class, () -> StreamLayout.batchObjectKey("a/b", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> StreamLayout.batchObjectKey("p", -1, 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "_log/99999999999999999999.json",               // 20 digits above Long.MAX_VALUE
            "_log/99999999999999999999.snapshot.json",
            "_index/99999999999999999999.json",
            "data/p/00000001-99999999999999999999.tgb",     // seq above Long.MAX_VALUE
            "data/p/99999999999999999999-000000000001.tgb",
            "_log/0000000000000000001.json",                // 19 digits
            "_log/000000000000000000001.json",              // 21 digits
            "_log/0000000000000000000x.json",
            "_log/-0000000000000000001.json",
            "_log/+0000000000000000001.json",
            "_log/00000000000000000001.json.tmp",
            "_log/00000000000000000001.snapshot.json.bak",
            "_log/_last_snapshot.old",
            "_log/notes.txt",
            "_index/00000000000000000001.idx",
            "_index/1.json",
            "data/p/1-1.tgb",                               // not zero-padded
            "data/p/000000001-000000000001.tgb",            // 9-digit epoch with a leading zero: not canonical
            "data/p/00000001-000000000001.tgb.partial",
            "data/p/00000001_000000000001.tgb",
            "data/p/00000001-000000000001-x.tgb",
            "data/p/sub/00000001-000000000001.tgb",         // nested
            "data/00000001-000000000001.tgb",               // no producer
            "data/-bad/00000001-000000000001.tgb",          // invalid producer id
            "data/p/",
            "_lakestream.json.bak",
            "README",
            "other/_log/00000000000000000001.json",
            ""})
    void strayAndOddKeysAreUnknownWithAReasonAndNeverThrow(String key) {
        StreamLayout.Unknown u = assertInstanceOf(StreamLayout.Unknown.class, StreamLayout.parse(key), key);
        assertEquals(key, u.key());
        assertTrue(!u.reason().isBlank(), key);
        assertTrue(u.describe().startsWith(key), u.describe());
    }

    @Test
    void aNumberThatDoesNotFitALongSaysSo() {
        StreamLayout.Unknown u = assertInstanceOf(StreamLayout.Unknown.class, StreamLayout.parse("_log/99999999999999999999.json"));
        assertTrue(u.reason().contains("fits a long"), u.reason());
        assertInstanceOf(StreamLayout.Unknown.class, StreamLayout.parse(null));
    }

    /**
     * Every key one character off a batch's key (each character replaced, removed, or one added
     * anywhere) is refused by the in-place check exactly when parsing refuses it.
     */
    @Test
    void aKeyOneCharacterOffIsTheBatchsKeyOnlyIfItParsesAsIt() {
        for (long[] eq : new long[][] {{12, 345}, {123_456_789L, 1_234_567_890_123L}}) {
            for (String key : List.of(StreamLayout.batchObjectKey("p0", eq[0], eq[1]), StreamLayout.hashedBatchObjectKey("p0", eq[0], eq[1]))) {
                List<String> near = new java.util.ArrayList<>();
                for (int i = 0; i <= key.length(); i++) {
                    for (char c : "0129/-.pxt_".toCharArray()) {
                        near.add(key.substring(0, i) + c + key.substring(i)); // one added
                        if (i < key.length() && key.charAt(i) != c) {
                            near.add(key.substring(0, i) + c + key.substring(i + 1)); // one replaced
                        }
                    }
                    if (i < key.length()) {
                        near.add(key.substring(0, i) + key.substring(i + 1)); // one removed
                    }
                }
                for (String k : near) {
                    boolean parsed = StreamLayout.parse(k) instanceof StreamLayout.BatchObject b && b.producer().equals("p0")
                            && b.epoch() == eq[0] && b.seq() == eq[1];
                    assertEquals(parsed, StreamLayout.isBatchObjectKey(k, "p0", eq[0], eq[1]), k);
                    assertTrue(!parsed || k.equals(key), k + " parses as the batch's own key");
                }
                assertTrue(StreamLayout.isBatchObjectKey(key, "p0", eq[0], eq[1]), key);
            }
        }
    }

    /** A producer id may look like the digits of a key: a key missing its producer directory is still no batch's key. */
    @Test
    void aKeyWithoutTheProducerDirectoryIsNotTheKeyOfAProducerNamedLikeItsDigits() {
        assertEquals(false, StreamLayout.isBatchObjectKey("data/00000001-000000000001.tgb", "0", 1, 1));
        assertEquals(false, StreamLayout.isBatchObjectKey("data/00000001-000000000001.tgb", "00", 1, 1));
        assertEquals(false, StreamLayout.isBatchObjectKey("data/0/00000001-000000000001.tgb", "00", 1, 1));
        assertTrue(StreamLayout.isBatchObjectKey("data/0/00000001-000000000001.tgb", "0", 1, 1));
    }

    /** The in-place check of a batch's key agrees with parsing it, for the keys of the batch and for near misses. */
    @Test
    void isBatchObjectKeyAgreesWithParse() {
        List<String> producers = List.of("p", "p0", "ab", "tok.en-izer_3", "x".repeat(128));
        long[] numbers = {0, 1, 9, 10, 99_999_999L, 100_000_000L, 999_999_999_999L, 1_000_000_000_000L, Long.MAX_VALUE};
        for (String p : producers) {
            for (long e : numbers) {
                for (long q : numbers) {
                    String plain = StreamLayout.batchObjectKey(p, e, q);
                    String hashed = StreamLayout.hashedBatchObjectKey(p, e, q);
                    for (String key : List.of(plain, hashed, plain.replace(".tgb", ".tg"), "data/" + p + "/0" + plain.substring(6 + p.length()),
                            plain.replace("data/", "data//"), plain + "x", "x" + plain, hashed.replace(hashed.substring(5, 7), "zz"))) {
                        for (long[] eq : new long[][] {{e, q}, {e + 1, q}, {e, q + 1}, {e, Math.max(0, q - 1)}}) {
                            boolean parsed = StreamLayout.parse(key) instanceof StreamLayout.BatchObject b && b.producer().equals(p)
                                    && b.epoch() == eq[0] && b.seq() == eq[1];
                            assertEquals(parsed, StreamLayout.isBatchObjectKey(key, p, eq[0], eq[1]), key + " " + e + "-" + q);
                        }
                    }
                }
            }
            assertEquals(false, StreamLayout.isBatchObjectKey(StreamLayout.batchObjectKey(p, 1, 1), p + "x", 1, 1));
            assertEquals(false, StreamLayout.isBatchObjectKey(null, p, 1, 1));
            assertEquals(false, StreamLayout.isBatchObjectKey(StreamLayout.batchObjectKey(p, 1, 1), p, -1, 1));
        }
        assertEquals(false, StreamLayout.isBatchObjectKey("data/-p/00000001-000000000001.tgb", "-p", 1, 1)); // not a valid id
    }
}
