package io.lakestream.store;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A range of a file mapped with mmap(2) itself and unmapped with munmap(2) by {@link #close}: an
 * <em>unchecked</em> mapping, whose segment belongs to no arena.
 *
 * <p>Why: a mapping made through {@code FileChannel.map(..., arena)} can only be unmapped by
 * closing its arena, and closing a shared arena is a handshake with every thread of the JVM. A
 * rank that maps each step's node copy (the node fetch) would pay one per step, as the pinned
 * pool's per-batch arenas did before their leases could be unchecked (issue 21). Callers that
 * hand raw addresses on (the Python binding, whose safety is its handle kept open until release)
 * lose nothing by it: the arena could not guard those addresses either.
 *
 * <p>The cost: a view used after {@link #close} reads unmapped memory, which crashes the
 * process. Only callers whose consumers cannot touch a view after the release use it.
 * {@link #available()} is false where {@link Libc} does not bind (not Linux on x86-64 or aarch64,
 * or native access not granted); callers then map through an arena.
 */
public final class FileMapping implements AutoCloseable {
    // Linux asm-generic values (x86-64, aarch64: the ports Libc.onLinuxX64OrAarch64 binds on)
    private static final int O_RDWR = 2;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final int MAP_PRIVATE = 2;
    private static final int ENOENT = 2;

    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    /** The page size (a power of two), or 0 where the calls did not bind. */
    private static final long PAGE;

    static {
        Libc libc = Libc.onLinuxX64OrAarch64();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
        OPEN = libc.find("open", FunctionDescriptor.of(i, ValueLayout.ADDRESS, i, i), Linker.Option.firstVariadicArg(2));
        MMAP = libc.find("mmap", FunctionDescriptor.of(l, l, l, i, i, i, l));
        CLOSE = libc.findIgnoringErrno("close", FunctionDescriptor.of(i, i));
        MUNMAP = libc.findIgnoringErrno("munmap", FunctionDescriptor.of(i, l, l));
        MethodHandle pageSize = libc.findIgnoringErrno("getpagesize", FunctionDescriptor.of(i));
        long page = 0;
        if (libc.bound()) {
            try {
                page = (int) pageSize.invokeExact();
            } catch (Throwable t) {
                page = 0;
            }
        }
        PAGE = page > 0 && Long.bitCount(page) == 1 ? page : 0;
    }

    private final long base;
    private final long mappedLength;
    private final MemorySegment segment;
    private boolean closed;

    private FileMapping(long base, long mappedLength, MemorySegment segment) {
        this.base = base;
        this.mappedLength = mappedLength;
        this.segment = segment;
    }

    /** Whether mappings can be made here; if not, {@link #map} throws and callers use an arena. */
    public static boolean available() {
        return PAGE != 0;
    }

    /**
     * Maps {@code length} bytes of {@code file} from {@code offset} (any offset: the mapping starts
     * at the page below it), read-write: {@code shared} writes go to the file (other processes'
     * mappings see them), otherwise copy-on-write (the file's pages are shared until this process
     * writes to them, and its writes stay its own).
     *
     * @throws NoSuchFileException the file does not exist
     * @throws IOException any other failure, naming the file and errno
     */
    public static FileMapping map(Path file, long offset, long length, boolean shared) throws IOException {
        if (!available()) {
            throw new IllegalStateException("mmap(2) is not bound on this platform: map through an arena");
        }
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad range: offset " + offset + ", length " + length);
        }
        byte[] name = file.toString().getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) { // confined: closing it is no handshake
            MemorySegment state = a.allocate(Libc.STATE);
            MemorySegment path = a.allocate(name.length + 1L);
            MemorySegment.copy(name, 0, path, ValueLayout.JAVA_BYTE, 0, name.length);
            int fd = (int) OPEN.invokeExact(state, path, (shared ? O_RDWR : Libc.O_RDONLY) | Libc.O_CLOEXEC, 0);
            if (fd < 0) {
                int e = (int) Libc.ERRNO.get(state, 0L);
                if (e == ENOENT) {
                    throw new NoSuchFileException(file.toString());
                }
                throw new IOException("open of " + file + " failed: errno " + e);
            }
            try {
                long aligned = offset & -PAGE;
                long mapped = length + (offset - aligned);
                // a private mapping may be written (copy-on-write) even through a read-only descriptor
                long addr = (long) MMAP.invokeExact(state, 0L, mapped, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd,
                        aligned);
                if (addr == -1L) {
                    throw new IOException("mmap of " + file + " [" + offset + ", +" + length + ") failed: errno "
                            + (int) Libc.ERRNO.get(state, 0L));
                }
                return new FileMapping(addr, mapped, MemorySegment.ofAddress(addr + (offset - aligned)).reinterpret(length));
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd); // the mapping keeps the file referenced
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The mapped range (valid until {@link #close}: after it, touching it crashes the process). */
    public MemorySegment segment() {
        return segment;
    }

    /** Unmaps the range; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            int ignored = (int) MUNMAP.invokeExact(base, mappedLength);
        } catch (Throwable t) {
            // munmap fails only for a bad range, which this class never passes
        }
    }
}
