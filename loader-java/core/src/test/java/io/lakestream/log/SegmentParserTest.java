package io.lakestream.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.format.FormatException;
import io.lakestream.format.Json;
import io.lakestream.format.ShardTable;
import io.lakestream.format.TensorData;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The step index's streaming parse of index segments ({@link SegmentParser}) against data binding,
 * the reference: every step of a stream of many segments reads as data binding reads its segment,
 * a mutated segment is read the same or left to data binding, and a corrupt entry is refused
 * naming the segment and the step.
 */
class SegmentParserTest {
    private static final int W = 4;

    @TempDir
    Path dir;

    /** 60 steps in segments of 8, with both codecs (single-value and per-shard columns) and cursors of every kind. */
    private FileStore stream() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        Random rnd = new Random(11);
        StreamConfig cfg = StreamConfig.of(W).withIndexSegmentSteps(8).withSnapshotInterval(4);
        for (Codec codec : Codec.values()) {
            try (TgbProducer p = TgbProducer.open(fs, "prep-" + codec.id(), cfg, ProducerOptions.defaults().withCodec(codec))) {
                for (int i = 0; i < 30; i++) {
                    List<Map<String, TensorData>> batch = new ArrayList<>();
                    for (int r = 0; r < W; r++) {
                        byte[] b = new byte[4 * 64];
                        for (int k = 0; k < b.length; k += 1 + rnd.nextInt(8)) {
                            b[k] = (byte) rnd.nextInt(); // compressible by different amounts: LZ4 shards of different lengths
                        }
                        batch.add(Map.of("tokens", new TensorData(DType.I32, new long[] {1, 64}, b)));
                    }
                    p.append(batch, i % 3 == 0 ? null : i % 3 == 1 ? "c" : "{\"i\":" + i + ",\"t\":\"é\\\"\"}");
                    p.commit();
                }
            }
        }
        return fs;
    }

    private static List<String> segmentKeys(FileStore fs) {
        return fs.list("_index/", "", 1000).stream().map(ObjectInfo::key).filter(k -> k.endsWith(".json")).toList();
    }

    @Test
    void everyStepOfAStreamOfManySegmentsReadsAsDataBindingReadsItsSegment() {
        FileStore fs = stream();
        List<String> keys = segmentKeys(fs);
        assertTrue(keys.size() >= 6, "segments: " + keys);
        List<TgbEntry> reference = new ArrayList<>();
        for (String key : keys) {
            byte[] b = fs.get(key);
            Snapshot.SegmentFile bound = Json.read(b, Snapshot.SegmentFile.class, key);
            Snapshot.SegmentFile fast = SegmentParser.tryParse(b);
            assertNotNull(fast, "a segment as a writer writes it takes the fast path: " + key);
            assertEquals(bound, fast, key);
            assertEquals(reference.size(), bound.firstStep(), key);
            reference.addAll(bound.tgbs());
        }
        assertTrue(reference.stream().anyMatch(t -> t.codec().equals("lz4")) && reference.stream().anyMatch(t -> t.codec().equals("none")));
        ManifestLog log = ManifestLog.open(fs, true);
        assertTrue(log.state().indexedSteps() >= reference.size(), "indexed " + log.state().indexedSteps());
        for (int step = 0; step < reference.size(); step++) {
            TgbEntry e = log.entry(step);
            assertEquals(reference.get(step), e, "step " + step);
            ShardTable a = (ShardTable) reference.get(step).shards();
            ShardTable b = (ShardTable) e.shards();
            for (int r = 0; r < W; r++) {
                assertEquals(a.get(r), b.get(r), "step " + step + " rank " + r);
            }
        }
    }

    @Test
    void aMutatedSegmentIsReadAsDataBindingReadsItOrLeftToIt() {
        FileStore fs = stream();
        String doc = new String(fs.get(segmentKeys(fs).get(0)), StandardCharsets.UTF_8);
        Random rnd = new Random(5);
        int taken = 0;
        int refused = 0;
        for (int m = 0; m < 3000; m++) {
            String mutated = mutate(doc, rnd);
            byte[] b = mutated.getBytes(StandardCharsets.UTF_8);
            Snapshot.SegmentFile reference;
            try {
                reference = Json.read(b, Snapshot.SegmentFile.class, "x");
            } catch (FormatException e) {
                refused++;
                assertNull(SegmentParser.tryParse(b), "data binding refuses it, so the fast path must not take it: " + mutated);
                FormatException again = assertThrows(FormatException.class, () -> SegmentParser.parse(b, b.length, "index segment s"));
                assertTrue(again.getMessage().startsWith("malformed index segment s"), again.getMessage());
                continue;
            }
            Snapshot.SegmentFile f = SegmentParser.tryParse(b);
            if (f != null) {
                taken++;
                assertEquals(reference, f, mutated);
                for (int i = 0; i < f.tgbs().size(); i++) {
                    if (reference.tgbs().get(i).shards() instanceof ShardTable t) {
                        ShardTable u = (ShardTable) f.tgbs().get(i).shards();
                        for (Codec c : Codec.values()) {
                            assertEquals(t.check(W, Long.MAX_VALUE / 4, c, 256), u.check(W, Long.MAX_VALUE / 4, c, 256), mutated);
                        }
                    }
                }
            }
        }
        assertTrue(taken > 300 && refused > 300, "the mutations reach both sides: taken " + taken + ", refused " + refused);
    }

    /** A mutation of the text: one character of a value (digits, base64, names) changed, or a stretch cut out. */
    private static String mutate(String doc, Random rnd) {
        int at = rnd.nextInt(doc.length());
        return switch (rnd.nextInt(4)) {
            case 0 -> doc.substring(0, at) + "AZaz09+/=\"-,:{}[]x".charAt(rnd.nextInt(18)) + doc.substring(at + 1);
            case 1 -> doc.substring(0, at) + doc.substring(Math.min(doc.length(), at + 1 + rnd.nextInt(6)));
            case 2 -> { // a checksum column's text changed in one place
                int c = doc.indexOf("crc32c\":\"", at);
                if (c < 0) {
                    yield doc;
                }
                int v = c + 9 + rnd.nextInt(24);
                yield doc.substring(0, v) + "A=+/gQw".charAt(rnd.nextInt(7)) + doc.substring(v + 1);
            }
            default -> { // a number's digit
                int d = at;
                while (d < doc.length() && !Character.isDigit(doc.charAt(d))) {
                    d++;
                }
                yield d >= doc.length() ? doc : doc.substring(0, d) + (char) ('0' + rnd.nextInt(10)) + doc.substring(d + 1);
            }
        };
    }

    @Test
    void aCorruptEntryIsRefusedNamingTheSegmentAndTheStep() {
        FileStore fs = stream();
        String key = segmentKeys(fs).get(1); // steps [8, 16)
        Snapshot.SegmentFile f = Json.read(fs.get(key), Snapshot.SegmentFile.class, key);
        assertEquals(8, f.firstStep());
        List<TgbEntry> tampered = new ArrayList<>(f.tgbs());
        TgbEntry t = tampered.get(3);
        tampered.set(3, new TgbEntry(t.producer(), t.epoch(), t.seq(), t.cursor(), t.object(), 10, t.codec(), t.shards()));
        fs.put(key, Json.write(new Snapshot.SegmentFile(8, tampered)));
        ManifestLog log = ManifestLog.open(fs, true);
        LogFormatException e = assertThrows(LogFormatException.class, () -> log.entry(9));
        assertTrue(e.getMessage().contains(key + " step 11: TGB " + t.producer() + "/" + t.epoch() + "-" + t.seq()), e.getMessage());
        assertTrue(e.getMessage().contains("10-byte object"), e.getMessage());
        String first = segmentKeys(fs).get(0);
        assertEquals(Json.read(fs.get(first), Snapshot.SegmentFile.class, first).tgbs().get(0), log.entry(0), "other segments still read");
    }
}
