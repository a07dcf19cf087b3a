package io.lakestream.store;

import io.lakestream.testkit.ObjectStoreConformanceSuite;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the {@code file://} store with direct I/O for batch objects ({@code ?direct_io=true}). */
class DirectIoFileStoreConformanceTest extends ObjectStoreConformanceSuite {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore newStore() {
        return ObjectStores.open("file://" + dir.resolve("stream") + "?direct_io=true", true);
    }
}
