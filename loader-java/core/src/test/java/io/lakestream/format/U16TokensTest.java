package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** U16 token ids: half the bytes of I32, the same ids after a round trip through a stream. */
class U16TokensTest {
    @TempDir
    Path dir;

    @Test
    void u16IsTwoBytesAndParsesBySafetensorsName() {
        assertEquals(DType.U16, DType.parse("U16", "t"));
        assertEquals(2, DType.U16.size());
    }

    @Test
    void valuesOutsideU16AreRefusedWithTheirIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorData.ofU16(new int[] {1, 65536}, 2));
        assertTrue(e.getMessage().contains("65536") && e.getMessage().contains("index 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofU16(new int[] {-1}, 1));
        assertArrayEquals(new byte[] {(byte) 0xFF, (byte) 0xFF, 0x00, (byte) 0x80}, TensorData.ofU16(new int[] {65535, 32768}, 2).bytes());
    }

    @Test
    void syntheticU16TokensReadBackAsTheSameIdsInHalfTheBytes() {
        SyntheticSource i32 = new SyntheticSource(64, 9, 0, 1, 128);
        SyntheticSource u16 = i32.withTokenType(DType.U16);
        assertThrows(IllegalArgumentException.class, () -> i32.withTokenType(DType.F32));
        FileStore store = FileStore.open(dir, true);
        try (TgbProducer p = TgbProducer.open(store, "p", StreamConfig.of(2), ProducerOptions.defaults())) {
            p.append(u16.globalBatch(u16.take(0, 16), 2), "next=16");
            p.commit();
        }
        int[] want = new int[8 * 128];
        for (int s = 0; s < 8; s++) {
            for (int j = 0; j < 128; j++) {
                want[s * 128 + j] = SyntheticSource.token(9, 8 + s, j);
            }
        }
        try (RankReader r = RankReader.open(store, 1, 2, 0, ReaderOptions.defaults()); StepBatch b = r.next(10_000)) {
            Tensor t = b.tensor("tokens");
            assertEquals(DType.U16, t.dtype());
            assertEquals(8L * 128 * 2, t.data().byteSize(), "two bytes per token");
            assertArrayEquals(want, t.toIntArray());
            assertTrue(java.util.Arrays.stream(want).anyMatch(v -> v >= 32768), "ids above the int16 range are covered");
        }
    }
}
