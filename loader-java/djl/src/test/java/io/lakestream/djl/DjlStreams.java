package io.lakestream.djl;

import ai.djl.ndarray.NDManager;
import io.lakestream.log.StreamEnd;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.store.ObjectStore;
import io.lakestream.testkit.Streams;
import java.nio.file.Path;

/** Streams for the DJL tests, and the count of live reader threads that proves readers are released. */
final class DjlStreams {
    static final long SEED = 21;

    private static NDManager manager;

    private DjlStreams() {}

    /** One PyTorch base manager for every DJL test in this JVM (the engine loads once, offline, from the Maven jars). */
    static synchronized NDManager manager() {
        if (manager == null) {
            System.setProperty("ai.djl.offline", "true");
            manager = NDManager.newBaseManager("PyTorch");
        }
        return manager;
    }

    /** A stream in {@code dir} of {@code records} synthetic records (int32 tokens [L], int64 record_id) in global batches of W×B. */
    static ObjectStore produce(Path dir, int w, int b, int l, long records, boolean close) {
        ObjectStore fs = FileStore.open(dir, true);
        Streams.produce(fs, "p", w, b, new SyntheticSource(records, SEED, 0, 1, l), -1, Streams.opts()).close();
        if (close) {
            StreamEnd.close(fs);
        }
        return fs;
    }

    /** Live threads of rank readers (a reader runs one dispatcher and {@code prefetch} fetchers). */
    static int readerThreads() {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && (t.getName().startsWith("lakestream-dispatch-") || t.getName().startsWith("lakestream-fetch-"))) {
                n++;
            }
        }
        return n;
    }

    /**
     * Waits until at most {@code max} reader threads are alive (a closed reader's threads finish
     * their last instruction a moment after close returns), running the GC when asked to.
     */
    static int awaitReaderThreadsAtMost(int max, boolean gc) throws InterruptedException {
        for (int i = 0; i < 400 && readerThreads() > max; i++) {
            if (gc) {
                System.gc();
            }
            Thread.sleep(50);
        }
        return readerThreads();
    }
}
