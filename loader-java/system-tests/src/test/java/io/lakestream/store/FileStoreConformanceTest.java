package io.lakestream.store;

import io.lakestream.testkit.ObjectStoreConformanceSuite;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded {@code file://} store. */
class FileStoreConformanceTest extends ObjectStoreConformanceSuite {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore newStore() {
        return ObjectStores.open("file://" + dir.resolve("stream"), true);
    }
}
