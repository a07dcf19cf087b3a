package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FileStore's writes through libc (PosixWrites) leave the same objects, names and errors as
 * its writes through the JDK's channels: each case runs on a store of each kind.
 */
class PosixWritesTest {
    @TempDir
    Path dir;

    private static boolean bound() {
        return PosixWrites.get() != null;
    }

    @Test
    void onLinuxWritesAreBoundToLibc() {
        String arch = System.getProperty("os.arch", "");
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux") && (arch.equals("amd64") || arch.equals("aarch64")));
        assertNotNull(PosixWrites.get(), "open/write/fdatasync/link/rename/fsync bound through java.lang.foreign");
    }

    @Test
    void bothWaysWriteTheSameObjectsAndLeaveNoTemporaryFiles() throws Exception {
        assumeTrue(bound());
        for (boolean nativeWrites : new boolean[] {true, false}) {
            Path root = dir.resolve(nativeWrites ? "native" : "channel");
            FileStore fs = new FileStore(Files.createDirectories(root), nativeWrites, false);
            SplittableRandom rnd = new SplittableRandom(3);
            // sizes around the native chunk: none, one byte, a chunk and a byte, several chunks and a part
            for (int size : new int[] {0, 1, PosixWrites.CHUNK + 1, 3 * PosixWrites.CHUNK + 4_321}) {
                byte[] data = new byte[size];
                rnd.nextBytes(data);
                byte[] other = data.clone();
                if (size > 0) {
                    other[size - 1] ^= 1;
                }
                // from heap bytes, into a directory that does not exist yet (made, with its parents)
                assertTrue(fs.putIfAbsent("a/b" + size + "/heap.tgb", data));
                assertFalse(fs.putIfAbsent("a/b" + size + "/heap.tgb", other), "the first content stays");
                assertArrayEquals(data, fs.get("a/b" + size + "/heap.tgb"));
                // from native memory and from a heap segment
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment nat = a.allocate(Math.max(1, size)).asSlice(0, size);
                    nat.copyFrom(MemorySegment.ofArray(data));
                    assertTrue(fs.putIfAbsent("m/native.tgb" + size, nat, true));
                    assertFalse(fs.putIfAbsent("m/native.tgb" + size, nat, false));
                    assertTrue(fs.putIfAbsent("m/heap.tgb" + size, MemorySegment.ofArray(data), false));
                }
                assertArrayEquals(data, fs.get("m/native.tgb" + size));
                assertArrayEquals(data, fs.get("m/heap.tgb" + size));
                // put replaces
                fs.put("top" + size, other);
                fs.put("top" + size, data);
                assertArrayEquals(data, fs.get("top" + size));
                fs.syncNames(List.of("top" + size, "a/b" + size + "/heap.tgb", "m/native.tgb" + size, "m/heap.tgb" + size));
                assertTrue(fs.getIfPresent("top" + size).isPresent());
                assertTrue(fs.getIfPresent("top" + size + "x").isEmpty());
            }
            try (Stream<Path> all = Files.walk(root)) {
                List<Path> hidden = all.filter(p -> p.getFileName().toString().startsWith(".")).toList();
                assertEquals(List.of(), hidden, "no temporary file is left");
            }
        }
    }

    @Test
    void directWritesStoreTheSameBytesWhateverTheAlignment() throws Exception {
        assumeTrue(bound());
        FileStore fs = FileStore.open(dir.resolve("direct"), true, true);
        String type = Files.getFileStore(dir).type();
        SplittableRandom rnd = new SplittableRandom(11);
        long page = PosixWrites.DIRECT_ALIGNMENT;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment aligned = a.allocate(4 << 20, page);
            // below the threshold, exactly pages, pages and a tail, unaligned memory (through the cache)
            long[] sizes = {100, 128 << 10, (128 << 10) + 1, (1 << 20) + 4_321, 3 << 20};
            for (long size : sizes) {
                for (long offset : new long[] {0, 1}) {
                    byte[] data = new byte[(int) size];
                    rnd.nextBytes(data);
                    MemorySegment src = aligned.asSlice(offset, size);
                    src.copyFrom(MemorySegment.ofArray(data));
                    String key = "data/p/" + size + "-" + offset + ".tgb";
                    assertTrue(fs.putIfAbsent(key, src, false));
                    assertFalse(fs.putIfAbsent(key, src, false), "link(2) still arbitrates");
                    assertArrayEquals(data, fs.get(key), key);
                    assertEquals(size, Files.size(dir.resolve("direct").resolve(key)), key);
                }
            }
        }
        fs.syncNames(List.of("data/p/100-0.tgb"));
        if (type.equals("ext4") || type.equals("xfs") || type.equals("btrfs")) {
            assertTrue(fs.directWrites(), "a local " + type + " takes direct I/O: it was used, not refused");
        }
        try (Stream<Path> all = Files.walk(dir.resolve("direct"))) {
            assertEquals(List.of(), all.filter(p -> p.getFileName().toString().startsWith(".")).toList(), "no temporary file is left");
        }
    }

    @Test
    void failuresSayTheSameBothWays() throws Exception {
        assumeTrue(bound());
        List<String> said = new ArrayList<>();
        for (boolean nativeWrites : new boolean[] {true, false}) {
            Path root = Files.createDirectories(dir.resolve("s"));
            FileStore fs = new FileStore(root, nativeWrites, false);
            fs.put("data/file.tgb", new byte[] {1});
            Files.createDirectories(root.resolve("data/dir.tgb"));
            StringBuilder sb = new StringBuilder();
            Consumer<Runnable> fails = op -> {
                StoreException e = assertThrows(StoreException.class, op::run);
                sb.append(e.getClass().getSimpleName()).append(' ').append(e.isRetryable()).append(' ')
                        .append(e.getMessage().replaceAll("\\.[0-9a-f]{1,16}\\.tmp", ".HEX.tmp"))
                        .append(" / ").append(e.getCause() == null ? null : e.getCause().getClass().getName()).append('\n');
            };
            fails.accept(() -> fs.putIfAbsent("data/file.tgb/under", new byte[] {2})); // ENOTDIR at the temporary file
            fails.accept(() -> fs.put("data/file.tgb/under", new byte[] {2}));
            fails.accept(() -> fs.put("data/dir.tgb", new byte[] {2})); // rename onto a directory: EISDIR
            fails.accept(() -> fs.syncNames(List.of("nothing/here/x.tgb"))); // no such directory
            assertFalse(fs.putIfAbsent("data/dir.tgb", new byte[] {2}), "a directory takes the name: exists");
            assertThrows(IllegalArgumentException.class, () -> fs.putIfAbsent("data/../x.tgb", new byte[] {2}));
            assertThrows(IllegalArgumentException.class, () -> fs.put(".hidden", new byte[] {2}));
            try (Stream<Path> all = Files.walk(root)) {
                assertEquals(List.of(), all.filter(p -> p.getFileName().toString().startsWith(".")).toList());
            }
            said.add(sb.toString());
            try (Stream<Path> all = Files.walk(root)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        assertEquals(said.get(1), said.get(0));
        assertTrue(said.get(0).contains("Not a directory"), said.get(0));
        assertTrue(said.get(0).contains("NoSuchFileException"), said.get(0));
    }
}
