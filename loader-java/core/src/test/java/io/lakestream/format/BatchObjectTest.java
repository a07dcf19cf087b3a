package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.source.SyntheticSource;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchObjectTest {
    @Test
    void footerRepeatsTheShardTableSoAnObjectDescribesItself() {
        SyntheticSource src = new SyntheticSource(10, 1, 0, 1, 4);
        for (Codec codec : Codec.values()) {
            BatchObject.Encoded enc = BatchObject.encode(src.globalBatch(src.take(0, 5), 2), codec,
                    Map.of("producer", "p", "epoch", "3", "seq", "9"));
            BatchObject.Footer f = BatchObject.readFooter(enc.bytes(), "obj");
            assertEquals(1, f.formatVersion());
            assertEquals(codec.id(), f.codec());
            assertEquals("9", f.meta().get("seq"));
            assertEquals(enc.shards(), f.shards());
            assertEquals(5, enc.totalSamples());
            assertEquals(3, f.shards().get(0).samples(), "5 records over 2 ranks: the first rank gets one more");
            assertEquals(3, f.shards().get(1).firstSample());
        }
    }

    @Test
    void aTruncatedObjectIsAClearErrorNamingIt() {
        SyntheticSource src = new SyntheticSource(4, 1, 0, 1, 4);
        byte[] b = BatchObject.encode(src.globalBatch(src.take(0, 4), 1), Codec.NONE, Map.of()).bytes();
        FormatException e = assertThrows(FormatException.class,
                () -> BatchObject.readFooter(Arrays.copyOf(b, b.length - 3), "data/p/1-1.tgb"));
        assertTrue(e.getMessage().contains("data/p/1-1.tgb") && e.getMessage().contains("magic"), e.getMessage());
    }
}
