package io.lakestream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.log.BelowFloorException;
import io.lakestream.log.Changes;
import io.lakestream.log.LogFormatException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.producer.SharedEpochException;
import io.lakestream.producer.TgbProducer;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.retention.Checkpoints;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Domain outcomes are typed LakestreamExceptions carrying what they concern, met through the real API. */
class TypedErrorsTest {
    static final int W = 2;

    @TempDir
    Path dir;

    private ObjectStore store(String name) {
        return FileStore.open(dir.resolve(name), true);
    }

    private static SyntheticSource source() {
        return new SyntheticSource(40, 1, 0, 1, 4);
    }

    @Test
    void streamNotFoundAndWorldSizeMismatchNameTheStream() {
        ObjectStore fs = store("s");
        StreamNotFoundException nf = assertThrows(StreamNotFoundException.class, () -> RankReader.open(fs, 0, W, 0,
                ReaderOptions.defaults()));
        assertEquals(fs.describe(), nf.stream());
        Streams.produce(fs, "p", W, 1, source(), 2, Streams.opts()).close();
        WorldSizeMismatchException w = assertThrows(WorldSizeMismatchException.class, () -> TgbProducer.open(fs, "q",
                StreamConfig.of(3), Streams.opts()));
        assertEquals(W, w.streamWorldSize());
        assertEquals(3, w.requested());
        assertEquals(fs.describe(), w.stream());
        assertInstanceOf(LakestreamException.class, w, "not an IllegalArgumentException any more: a domain outcome");
    }

    @Test
    void fencingCarriesProducerAndEpochs() {
        ObjectStore fs = store("s");
        TgbProducer old = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts().withGroup(10, 10, false));
        SyntheticSource src = source();
        long[] ids = src.take(0, W);
        old.append(src.globalBatch(ids, W), "a");
        TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts()).close();
        ProducerFencedException f = assertThrows(ProducerFencedException.class, old::commit);
        assertEquals("p", f.producer());
        assertEquals(1, f.epoch());
        assertEquals(2, f.currentEpoch());
        assertEquals(fs.describe(), f.stream());
        old.close();
    }

    @Test
    void aStepBelowTheFloorNamesStepAndFloor() {
        ObjectStore fs = store("s");
        Streams.produce(fs, "p", W, 1, source(), -1, Streams.opts()).close(); // 20 steps
        ManifestLog log = ManifestLog.open(fs);
        Checkpoints.record(log, 5, null);
        Checkpoints.record(log, 9, null);
        BelowFloorException b = assertThrows(BelowFloorException.class, () -> RankReader.open(fs, 0, W, 3, ReaderOptions.defaults()));
        assertEquals(3, b.step());
        assertEquals(5, b.floor());
        assertEquals(fs.describe(), b.stream());
    }

    @Test
    void aSequenceRewindIsRefusedTyped() {
        ObjectStore fs = store("s");
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts().withGroup(1, 1, false));
        SyntheticSource src = source();
        p.append(src.globalBatch(src.take(0, W), W), "c1");
        p.commit();
        // moving the log's sequence for p back behind the producer's (which would let seq 1 be
        // committed again: two steps naming one object) is refused before it is written (docs/format.md §4)
        LogFormatException e = assertThrows(LogFormatException.class, () -> ManifestLog.open(fs).commit("tamper",
                s -> new Changes(Map.of("p", new ProducerState(p.epoch(), 0, null)), List.of(), List.of())));
        assertTrue(e.getMessage().contains("field 'producers.p' goes back"), e.getMessage());
        assertInstanceOf(LakestreamException.class, e);
        p.append(src.globalBatch(src.take(W, W), W), "c2");
        p.commit();
        assertEquals(2, ManifestLog.open(fs).state().producer("p").seq());
        p.close();
    }

    @Test
    void twoLiveInstancesOfOneEpochAreTyped() {
        ObjectStore fs = store("s");
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W), Streams.opts().withGroup(1, 1, false));
        String key = StreamLayout.batchObjectKey("p", p.epoch(), 1);
        fs.put(key, new byte[] {42}); // what another instance of the same epoch would have written
        SyntheticSource src = source();
        SharedEpochException s = assertThrows(SharedEpochException.class, () -> {
            p.append(src.globalBatch(src.take(0, W), W), "c"); // the object is written by a writer thread ...
            p.commit(); // ... whose failure the next call throws
        });
        assertEquals("p", s.producer());
        assertEquals(p.epoch(), s.epoch());
        assertEquals(key, s.key());
        assertTrue(s.getMessage().contains("two live instances"), s.getMessage());
        p.close();
    }
}
