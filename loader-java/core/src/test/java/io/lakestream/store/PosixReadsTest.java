package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FileStore's ranged reads into native memory go through libc (PosixReads) and say the same as a channel read. */
class PosixReadsTest {
    @TempDir
    Path dir;

    @Test
    void onLinuxRangedReadsAreBoundToLibc() {
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux"));
        assertNotNull(PosixReads.get(), "open/lseek/pread/close bound through java.lang.foreign");
    }

    @Test
    void nativeAndHeapReadsReturnTheSameBytesAndTheSameErrors() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        byte[] data = new byte[100_000];
        new SplittableRandom(7).nextBytes(data);
        fs.put("data/x.tgb", data);
        byte[] want = Arrays.copyOfRange(data, 123, 123 + 5_000);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nat = a.allocate(5_000);
            fs.readRange("data/x.tgb", 123, nat);
            assertArrayEquals(want, nat.toArray(ValueLayout.JAVA_BYTE));
            MemorySegment heap = MemorySegment.ofArray(new byte[5_000]);
            fs.readRange("data/x.tgb", 123, heap);
            assertArrayEquals(want, heap.toArray(ValueLayout.JAVA_BYTE));
            fs.readRange("data/x.tgb", 100_000, a.allocate(0)); // nothing, at the very end: fine
            MemorySegment whole = a.allocate(100_000);
            fs.readRange("data/x.tgb", 0, whole);
            assertArrayEquals(data, whole.toArray(ValueLayout.JAVA_BYTE));

            assertThrows(NoSuchKeyException.class, () -> fs.readRange("data/missing.tgb", 0, nat));
            assertThrows(NoSuchKeyException.class, () -> fs.readRange("data/x.tgb/under-a-file", 0, nat)); // ENOTDIR
            StoreException past = assertThrows(StoreException.class, () -> fs.readRange("data/x.tgb", 99_000, nat));
            assertTrue(past.getMessage().contains("outside object data/x.tgb of 100000 bytes"), past.getMessage());
            assertThrows(IllegalArgumentException.class, () -> fs.readRange("data/../x.tgb", 0, nat));
            Files.createDirectories(dir.resolve("s/dir.tgb"));
            StoreException notAFile = assertThrows(StoreException.class, () -> fs.readRange("dir.tgb", 0, nat)); // EISDIR at pread
            assertTrue(notAFile.getMessage().contains("dir.tgb"), notAFile.getMessage());
        }
    }
}
