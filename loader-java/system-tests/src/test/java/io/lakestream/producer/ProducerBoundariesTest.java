package io.lakestream.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.ControlRecord;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamLayout;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.FileStore;
import io.lakestream.testkit.HookStore;
import io.lakestream.time.Threads;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a producer ends: what its failures carry and how often they are reported, what closing
 * waits for and releases, and the fields of the exceptions it throws.
 */
class ProducerBoundariesTest {
    private static final int W = 2;

    @TempDir
    Path dir;

    private final SyntheticSource src = new SyntheticSource(1000, 1, 0, 1, 8);
    private long next;

    private void append(TgbProducer p) {
        long[] ids = src.take(next, 2 * W);
        next = src.after(ids[ids.length - 1]);
        p.append(src.globalBatch(ids, W), SyntheticSource.cursor(next));
    }

    /** An error of the machine, not of the store: the producer must hand it over as it is. */
    private static final class DiskOnFire extends Error {
        DiskOnFire() {
            super("disk on fire");
        }
    }

    @Test
    void anInstanceThatFailedWithAnErrorThrowsItOnceThenSaysItFailedEarlier() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hooked = new HookStore(fs);
        AtomicBoolean armed = new AtomicBoolean();
        DiskOnFire fire = new DiskOnFire();
        hooked.putIfAbsentHook = key -> {
            if (armed.get() && StreamLayout.parse(key) instanceof StreamLayout.Version) {
                throw fire;
            }
            return false;
        };
        try (TgbProducer p = TgbProducer.open(hooked, "p", StreamConfig.of(W),
                ProducerOptions.defaults().withWriteParallelism(0).withGroup(8, 8, false))) {
            assertEquals("p", p.id());
            append(p);
            armed.set(true);
            assertSame(fire, assertThrows(DiskOnFire.class, p::commit), "the error itself, the first time");
            IllegalStateException later = assertThrows(IllegalStateException.class, p::commit);
            assertSame(fire, later.getCause());
            assertTrue(later.getMessage().contains("failed earlier (disk on fire)"), later.getMessage());
        }
    }

    @Test
    void anInlineWriteThatFailsFailsTheInstanceForGood() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        HookStore hooked = new HookStore(fs);
        AtomicBoolean armed = new AtomicBoolean();
        hooked.putIfAbsentHook = key -> armed.get() && key.startsWith(StreamLayout.DATA_PREFIX);
        try (TgbProducer p = TgbProducer.open(hooked, "p", StreamConfig.of(W),
                ProducerOptions.defaults().withWriteParallelism(0).withGroup(8, 8, false))) {
            append(p);
            armed.set(true);
            RuntimeException first = assertThrows(RuntimeException.class, () -> append(p), "the write's own failure");
            armed.set(false);
            IllegalStateException later = assertThrows(IllegalStateException.class, () -> append(p),
                    "no batch is written after a write failed");
            assertSame(first, later.getCause());
            assertEquals(0, ManifestLog.open(fs).state().committedSteps(), "nothing was committed");
        }
    }

    @Test
    void closeWaitsForTheSnapshotBeingWritten() {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        // the snapshot of version 2 takes a while: close must not return before it is written
        FailPoints fp = new FailPoints().set(FailPoints.BEFORE_SNAPSHOT, new FailPoints.Sleep(300), 1);
        TgbProducer p = TgbProducer.open(fs, "p", StreamConfig.of(W).withSnapshotInterval(2),
                ProducerOptions.defaults().withGroup(1, 1, false), StreamEnv.defaults().withFailPoints(fp));
        append(p);
        p.commit(); // version 1
        append(p);
        p.commit(); // version 2: its snapshot is handed to the writers
        p.close();
        assertTrue(fs.stat(StreamLayout.snapshotKey(2)).isPresent(), "close returned before the snapshot of version 2 was written");
    }

    @Test
    void closingTheEncodeBuffersFreesTheirMemoryAndABufferReleasedLater() throws Exception {
        EncodeBuffers buffers = new EncodeBuffers(2, Threads.platform());
        EncodeBuffers.Buffer a = buffers.acquire(1000);
        EncodeBuffers.Buffer b = buffers.acquire(1000);
        MemorySegment ma = a.memory();
        MemorySegment mb = b.memory();
        buffers.release(a);
        buffers.close();
        assertFalse(ma.scope().isAlive(), "a free buffer is freed on close");
        assertTrue(mb.scope().isAlive(), "a buffer in use stays usable");
        buffers.release(b);
        assertFalse(mb.scope().isAlive(), "a buffer released after close is freed then");
    }

    @Test
    void exceptionsCarryTheirFields() {
        SequenceGapException gap = new SequenceGapException("s", "p", 4, 7);
        assertEquals("p", gap.producer());
        assertEquals(4, gap.committedSeq());
        assertEquals(7, gap.nextSeq());
        BatchObjectDeletedException gone = new BatchObjectDeletedException("s", "p", 3, "data/p/00000003-000000000001.tgb", "w");
        assertEquals("p", gone.producer());
        assertEquals(3, gone.epoch());
        assertEquals("data/p/00000003-000000000001.tgb", gone.key());
        ControlRecord c = new ControlRecord(5, 40, Map.of("mixture", "a:1"), "trainer", 0);
        ControlChangedException changed = new ControlChangedException("s", "p", 4, c);
        assertEquals(4, changed.generatedUnder());
        assertSame(c, changed.control());
        assertTrue(changed.getMessage().contains("control version 4, but version 5 is in force from step 40"), changed.getMessage());
    }
}
