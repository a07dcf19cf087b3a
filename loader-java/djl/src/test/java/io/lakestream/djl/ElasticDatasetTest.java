package io.lakestream.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import io.lakestream.log.WorldSizeMismatchException;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DJL dataset reading a 2-rank stream as 3 ranks (elastic world size). */
class ElasticDatasetTest {
    @TempDir
    Path dir;

    @Test
    void threeElasticRanksTogetherSeeEveryRecordOfATwoRankStreamOnce() {
        System.setProperty("ai.djl.offline", "true");
        ObjectStore fs = FileStore.open(dir.resolve("s"), true);
        Streams.produce(fs, "p", 2, 3, new SyntheticSource(24, 4, 0, 1, 8), -1, Streams.opts()).close(); // 4 steps of 6
        assertThrows(WorldSizeMismatchException.class, () -> LakestreamDataset.builder(fs, 0, 3).timeoutMillis(500).build()
                .getData(NDManager.newBaseManager("PyTorch")).iterator().hasNext(), "strict by default");
        List<Long> ids = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            for (int rank = 0; rank < 3; rank++) {
                LakestreamDataset ds = LakestreamDataset.builder(fs, rank, 3).elastic(true).labels("record_id").steps(4)
                        .timeoutMillis(10_000).build();
                for (Batch b : ds.getData(manager)) {
                    try (b) {
                        assertEquals(2, b.getLabels().get(0).getShape().get(0), "6 samples over 3 ranks");
                        for (long id : b.getLabels().get(0).toLongArray()) {
                            ids.add(id);
                        }
                    }
                }
            }
        }
        ids.sort(null);
        List<Long> want = new ArrayList<>();
        for (long i = 0; i < 24; i++) {
            want.add(i);
        }
        assertEquals(want, ids);
    }
}
