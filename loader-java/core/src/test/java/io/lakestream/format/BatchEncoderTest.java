package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The one-pass off-heap encoder must write exactly the bytes the format's Jackson mapper wrote
 * before it (the on-store format is unchanged), with checksums combined from row checksums that
 * equal checksums computed over the finished bytes.
 */
class BatchEncoderTest {
    private static final SplittableRandom RND = new SplittableRandom(7);

    @Test
    void combinedChecksumsEqualDirectOnes() {
        for (int t = 0; t < 200; t++) {
            byte[] b = new byte[RND.nextInt(0, 5000)];
            RND.nextBytes(b);
            int cut = b.length == 0 ? 0 : RND.nextInt(0, b.length + 1);
            long a = Crc32c.of(b, 0, cut);
            long c = Crc32c.of(b, cut, b.length - cut);
            assertEquals(Crc32c.of(b, 0, b.length), Crc32c.combine(a, c, b.length - cut), "cut at " + cut + " of " + b.length);
        }
        assertEquals(Crc32c.of(new byte[] {1, 2, 3}, 0, 3), Crc32c.combine(Crc32c.of(new byte[] {1, 2, 3}, 0, 3), 0, 0));
    }

    @Test
    void objectsAreByteIdenticalToTheJacksonReference() {
        for (Codec codec : Codec.values()) {
            for (int round = 0; round < 30; round++) {
                List<Map<String, TensorData>> shards = randomBatch(1 + RND.nextInt(4), round);
                Map<String, String> meta = Map.of("producer", "p-" + round, "epoch", "3", "seq", Long.toString(round * 1_000_003L));
                byte[] expected = Reference.object(shards, codec, meta);
                assertArrayEquals(expected, BatchObject.encode(shards, codec, meta).bytes(), codec + " round " + round);
                // the producer's path: off-heap, meta from fields
                BatchEncoder e = new BatchEncoder(codec);
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment dst = a.allocate(e.maxSize(shards));
                    BatchEncoder.Encoded enc = e.encode(shards, "p-" + round, 3, round * 1_000_003L, dst);
                    assertArrayEquals(expected, enc.object().toArray(ValueLayout.JAVA_BYTE), codec + " round " + round);
                    assertEquals(BatchObject.readFooter(expected, "x").shards(), enc.shards());
                    // encoding again into the same memory (a reused buffer) gives the same bytes
                    assertArrayEquals(expected, e.encode(shards, "p-" + round, 3, round * 1_000_003L, dst).object()
                            .toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    @Test
    void namesThatNeedEscapingAreWrittenAsJacksonWritesThem() {
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("quote\" back\\ tab\t nl\n ctl\u0001 é 漢 😀 /", TensorData.ofInts(new int[] {1, 2}, 2, 1));
        m.put("b", TensorData.ofU16(new int[] {3, 4}, 2, 1));
        assertArrayEquals(Reference.blob(m), TensorBlob.encode(m));
        List<TensorBlob.View> views = TensorBlob.parse(MemorySegment.ofArray(TensorBlob.encode(m)), "x");
        assertEquals(m.keySet().iterator().next(), views.get(0).name());
    }

    @Test
    void badShardsAreRefusedBeforeAnythingIsWritten() {
        Map<String, TensorData> mixed = new LinkedHashMap<>();
        mixed.put("a", TensorData.ofInts(new int[] {1, 2}, 2, 1));
        mixed.put("b", TensorData.ofInts(new int[] {1, 2, 3}, 3, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorBlob.encode(mixed));
        assertTrue(e.getMessage().contains("'b' has 3 samples"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TensorBlob.encode(Map.of()));
        assertThrows(IllegalArgumentException.class, () -> TensorBlob.encode(Map.of("__metadata__", TensorData.ofInts(new int[] {1}, 1))));
        assertThrows(IllegalArgumentException.class, () -> BatchObject.encode(List.of(), Codec.NONE, Map.of()));
    }

    private static List<Map<String, TensorData>> randomBatch(int w, int round) {
        List<Map<String, TensorData>> out = new ArrayList<>();
        for (int r = 0; r < w; r++) {
            int samples = round % 7 == 0 ? 0 : 1 + RND.nextInt(40);
            Map<String, TensorData> m = new LinkedHashMap<>();
            int tensors = 1 + RND.nextInt(3);
            for (int t = 0; t < tensors; t++) {
                int cols = round % 5 == 0 ? 0 : 1 + RND.nextInt(300);
                DType dt = DType.values()[RND.nextInt(DType.values().length)];
                byte[] b = new byte[samples * cols * dt.size()];
                if (round % 3 == 0) {
                    for (int i = 0; i < b.length; i++) {
                        b[i] = (byte) (i % 7); // compressible
                    }
                } else {
                    RND.nextBytes(b);
                }
                m.put("t" + t + (t == 1 ? "_ids" : ""), new TensorData(dt, new long[] {samples, cols}, b));
            }
            out.add(m);
        }
        return out;
    }

    /** The encoder as it was before the off-heap one: Jackson trees and heap arrays. */
    static final class Reference {
        static byte[] blob(Map<String, TensorData> tensors) {
            long samples = tensors.values().iterator().next().samples();
            ObjectNode header = Json.MAPPER.createObjectNode();
            ObjectNode meta = header.putObject("__metadata__");
            long off = 0;
            for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
                TensorData t = e.getValue();
                ObjectNode tn = header.putObject(e.getKey());
                tn.put("dtype", t.dtype().name());
                ArrayNode shape = tn.putArray("shape");
                for (long d : t.shape()) {
                    shape.add(d);
                }
                ArrayNode offs = tn.putArray("data_offsets");
                offs.add(off);
                off += t.bytes().length;
                offs.add(off);
            }
            meta.put("format", "lakestream");
            meta.put("samples", Long.toString(samples));
            StringBuilder hex = new StringBuilder();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            for (long i = 0; i < samples; i++) {
                crc.reset();
                for (TensorData t : tensors.values()) {
                    int row = (int) (t.bytes().length / samples);
                    crc.update(t.bytes(), (int) (i * row), row);
                }
                String h = Long.toHexString(crc.getValue());
                hex.append("00000000", h.length(), 8).append(h);
            }
            meta.put(TensorBlob.SAMPLE_CRC_KEY, hex.toString());
            byte[] h = Json.writeString(header).getBytes(StandardCharsets.UTF_8);
            int padded = (h.length + 7) & ~7;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.writeBytes(h);
            for (int i = h.length; i < padded; i++) {
                out.write(' ');
            }
            for (TensorData t : tensors.values()) {
                out.writeBytes(t.bytes());
            }
            return out.toByteArray();
        }

        static byte[] object(List<Map<String, TensorData>> shards, Codec codec, Map<String, String> meta) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            List<ShardEntry> entries = new ArrayList<>();
            long firstSample = 0;
            for (Map<String, TensorData> shard : shards) {
                byte[] raw = blob(shard);
                long samples = shard.values().iterator().next().samples();
                byte[] stored = codec == Codec.LZ4 ? Lz4Frames.encode(raw) : raw;
                long offset = out.size();
                out.writeBytes(stored);
                long headerLength = 8 + ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                entries.add(new ShardEntry(offset, stored.length, Crc32c.of(stored, 0, stored.length), raw.length, samples, firstSample,
                        headerLength, Crc32c.of(raw, 0, (int) headerLength)));
                firstSample += samples;
            }
            byte[] footer = Json.write(new BatchObject.Footer(1, codec.id(), new LinkedHashMap<>(meta), entries));
            out.writeBytes(footer);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(footer.length).array());
            out.writeBytes(BatchObject.MAGIC);
            return out.toByteArray();
        }
    }
}
