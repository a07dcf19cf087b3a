package io.lakestream.reader;

import io.lakestream.format.ShardEntry;
import io.lakestream.log.TgbEntry;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The files a node's ranks share (see {@link NodeFetch}): where they are, what their 4 KiB
 * headers hold, and how a step file's space is reserved before it is written through a mapping.
 *
 * <p>A node's directory, {@code <dir>/lakestream-<hash of stream and job key>-r<first rank>/},
 * holds {@code fetcher.ctl} (the fetching process's pid and start time, the step below which
 * every step was handled, a closed flag) and one {@code <step>.step} file per published step:
 * a header page, then the node's byte range of the batch object at file offset
 * {@code 4096 + (range offset mod 4096)}, so every byte keeps the alignment it has in the object.
 * A step file appears by an atomic rename once complete; nothing in it changes afterwards except
 * the release word, which local ranks set bits of atomically through a shared mapping.
 */
final class NodeFiles {
    private NodeFiles() {}

    static final long HEADER = 4096;
    static final long STEP_MAGIC = 0x4C534E4F44455031L; // "LSNODEP1"
    static final long CTL_MAGIC = 0x4C534E4F44454331L;  // "LSNODEC1"
    // step file header words
    static final long H_MAGIC = 0;
    static final long H_STEP = 8;
    static final long H_OFFSET = 16;
    static final long H_LENGTH = 24;
    static final long H_KEY = 32;
    static final long H_RANKS = 40;
    static final long H_RELEASED = 48;
    // control file words
    static final long C_MAGIC = 0;
    static final long C_PID = 8;
    static final long C_START_MILLIS = 16;
    static final long C_DONE_BELOW = 24;
    static final long C_CLOSED = 32;

    /** Plain and atomic access to a header word (mapped memory is page aligned, words 8-byte aligned). */
    static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    static long get(MemorySegment header, long at) {
        return (long) WORD.getVolatile(header, at);
    }

    static void set(MemorySegment header, long at, long v) {
        WORD.setVolatile(header, at, v);
    }

    /** The node's directory for {@code stream} under {@code nf}. */
    static Path nodeDir(NodeFetch nf, String stream, int firstRank) {
        return nf.dir().resolve("lakestream-" + Long.toHexString(hash(stream + "\n" + nf.jobKey())) + "-r" + firstRank);
    }

    static Path stepFile(Path nodeDir, long step) {
        return nodeDir.resolve(step + ".step");
    }

    static Path ctlFile(Path nodeDir) {
        return nodeDir.resolve("fetcher.ctl");
    }

    /** 64-bit FNV-1a of the text's UTF-8 bytes: names a directory, identifies an object key in a header. */
    static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** The node's byte range of a step: from its first local rank's shard to its last one's end. */
    record Range(long offset, long length) {
        long pad() {
            return offset & (HEADER - 1);
        }

        /** The file's size: header, alignment pad, range. */
        long fileSize() {
            return HEADER + pad() + length;
        }

        /** Where {@code shard}'s bytes start in the file. */
        long filePosition(ShardEntry shard) {
            return HEADER + pad() + (shard.offset() - offset);
        }
    }

    /** Ranks {@code firstRank .. firstRank + ranks - 1} of {@code entry} (clamped to the stream's world size). */
    static Range range(TgbEntry entry, int firstRank, int ranks) {
        int last = Math.min(entry.shards().size(), firstRank + ranks) - 1;
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (int r = firstRank; r <= last; r++) {
            ShardEntry s = entry.shards().get(r);
            lo = Math.min(lo, s.offset());
            hi = Math.max(hi, s.offset() + s.length());
        }
        return new Range(lo, hi - lo);
    }

    // ---------------------------------------------------------------- reserving space

    private static final MethodHandle OPEN;
    private static final MethodHandle FALLOCATE;
    private static final MethodHandle CLOSE;
    private static final int O_RDWR = 2;
    private static final int ENOSPC = 28;

    static {
        MethodHandle open = null;
        MethodHandle falloc = null;
        MethodHandle close = null;
        try {
            Linker l = Linker.nativeLinker();
            var libc = l.defaultLookup();
            var fOpen = libc.find("open");
            var fFalloc = libc.find("posix_fallocate");
            var fClose = libc.find("close");
            if (fOpen.isPresent() && fFalloc.isPresent() && fClose.isPresent()) {
                open = l.downcallHandle(fOpen.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_INT)); // open(path, O_RDWR): no mode argument is passed
                falloc = l.downcallHandle(fFalloc.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                close = l.downcallHandle(fClose.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            }
        } catch (RuntimeException | LinkageError e) {
            // no native access (or not Linux): reserve() writes zeros instead
        }
        OPEN = open;
        FALLOCATE = falloc;
        CLOSE = close;
    }

    /**
     * Reserves {@code size} bytes for {@code file} (open as {@code ch}) before it is written
     * through a mapping: on tmpfs a write through a mapping into space the filesystem cannot
     * give is a SIGBUS that kills the process, where posix_fallocate says ENOSPC as an
     * IOException. Without posix_fallocate the space is written with zeros (same effect, slower).
     */
    static void reserve(Path file, FileChannel ch, long size) throws IOException {
        if (OPEN != null) {
            int rc;
            try (Arena a = Arena.ofConfined()) {
                int fd = (int) OPEN.invokeExact(a.allocateFrom(file.toString()), O_RDWR);
                if (fd >= 0) {
                    try {
                        rc = (int) FALLOCATE.invokeExact(fd, 0L, size);
                    } finally {
                        int ignored = (int) CLOSE.invokeExact(fd);
                    }
                    if (rc == 0) {
                        return;
                    }
                    if (rc == ENOSPC) {
                        throw new IOException("no space left in " + file.getParent() + " for " + size + " bytes (posix_fallocate: ENOSPC)");
                    }
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                // fall through to zeros
            }
        }
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(size, 1 << 20));
        for (long at = 0; at < size; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), size - at));
            at += ch.write(zeros, at);
        }
    }
}
