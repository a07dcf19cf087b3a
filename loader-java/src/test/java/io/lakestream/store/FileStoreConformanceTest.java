package io.lakestream.store;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded {@code file://} store. */
class FileStoreConformanceTest extends ObjectStoreConformanceTest {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore newStore() {
        return ObjectStores.open("file://" + dir.resolve("stream"), true);
    }
}
