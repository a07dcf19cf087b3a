package io.lakestream.reader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakestream.StreamEnv;
import io.lakestream.store.FileStore;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A reader opened on a feed owns the feed from the call on: refused arguments close it too. */
class FedReaderArgsTest {
    @TempDir
    Path dir;

    @Test
    void aReaderRefusingItsArgumentsClosesTheFeedItWasGiven() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        AtomicInteger closes = new AtomicInteger();
        StepFeed feed = new StubFeed(4) {
            @Override
            public void close() {
                closes.incrementAndGet();
            }
        };
        assertThrows(IllegalArgumentException.class, () -> RankReader.open(fs, 5, 4, 0, ReaderOptions.defaults(), null,
                StreamEnv.defaults(), feed, false));
        assertEquals(1, closes.get(), "rank 5 of 4 was refused, and the feed handed over was closed");
        assertThrows(IllegalArgumentException.class, () -> RankReader.open(fs, 0, 4, -1, ReaderOptions.defaults(), null,
                StreamEnv.defaults(), feed, false));
        assertEquals(2, closes.get(), "a negative start step too");
    }
}
