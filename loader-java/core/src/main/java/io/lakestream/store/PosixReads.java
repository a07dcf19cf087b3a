package io.lakestream.store;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Ranged reads of local files with libc's {@code open}, {@code lseek}, {@code pread} and
 * {@code close}, called through {@code java.lang.foreign} straight into the caller's off-heap
 * segment. A read through {@code FileChannel.open} leaves ≈ 0.65 KB of heap garbage per call (the
 * channel, its descriptor and cleaner, the resolved path and its strings); a ranged read per rank
 * per step made that the largest item of the read path's garbage (issue 23). Here the path's
 * bytes go into a per-thread native buffer and errno is captured into another, so a read
 * allocates nothing on the heap.
 *
 * <p>Linux only (the flag values and errno numbers are Linux's), and used only when the
 * destination is native memory; {@link #get()} is null elsewhere or where the symbols cannot be
 * bound, and {@link FileStore} then reads through a channel as before.
 */
final class PosixReads {
    /** What {@link #read} found, besides a full read (which returns the object's size). */
    static final long NO_SUCH_FILE = -1;
    static final long OUT_OF_RANGE = -2;
    static final long SHRANK = -3;
    static final long TOO_LONG = -4;
    // Linux x86-64 and aarch64 values.
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_END = 2;
    private static final int ENOENT = 2;
    private static final int ENOTDIR = 20;
    private static final int EINTR = 4;
    private static final int PATH_MAX = 4096;

    // Static finals, so the JIT binds the calls directly (a handle in an instance field is called
    // through its generic form). All null where the platform has no such calls.
    private static final MethodHandle OPEN;
    private static final MethodHandle LSEEK;
    private static final MethodHandle PREAD;
    private static final MethodHandle CLOSE;
    private static final VarHandle ERRNO;
    private static final PosixReads INSTANCE;

    static {
        MethodHandle open = null;
        MethodHandle lseek = null;
        MethodHandle pread = null;
        MethodHandle close = null;
        VarHandle errno = null;
        if (System.getProperty("os.name", "").startsWith("Linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errnoOpt = Linker.Option.captureCallState("errno");
                ValueLayout.OfInt i = ValueLayout.JAVA_INT;
                ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
                // open(2) is variadic, but its mode argument is read only with O_CREAT: called with two.
                open = linker.downcallHandle(find(libc, "open"), FunctionDescriptor.of(i, ValueLayout.ADDRESS, i), errnoOpt);
                lseek = linker.downcallHandle(find(libc, "lseek"), FunctionDescriptor.of(l, i, l, i), errnoOpt);
                pread = linker.downcallHandle(find(libc, "pread"), FunctionDescriptor.of(l, i, ValueLayout.ADDRESS, l, l), errnoOpt);
                close = linker.downcallHandle(find(libc, "close"), FunctionDescriptor.of(i, i));
                errno = Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));
            } catch (RuntimeException | LinkageError e) { // no native access, no such symbol: read through channels
                open = null;
            }
        }
        OPEN = open;
        LSEEK = lseek;
        PREAD = pread;
        CLOSE = close;
        ERRNO = errno;
        INSTANCE = open == null ? null : new PosixReads();
    }

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** One thread's native buffers: the path being opened and the errno of its last call. */
    private static final class Scratch {
        final MemorySegment path;
        final MemorySegment state;

        Scratch() {
            Arena a = Arena.ofAuto(); // freed with the thread's scratch, not per read
            path = a.allocate(PATH_MAX);
            state = a.allocate(Linker.Option.captureStateLayout());
        }
    }

    private PosixReads() {}

    private static MemorySegment find(SymbolLookup libc, String name) {
        return libc.find(name).orElseThrow(() -> new IllegalStateException("libc lacks " + name));
    }

    /** The reader of this platform, or null where reads go through {@code FileChannel}. */
    static PosixReads get() {
        return INSTANCE;
    }

    /**
     * Reads {@code dst.byteSize()} bytes at {@code offset} of the file {@code root/key} into
     * {@code dst} (native). Returns the file's size on success, {@link #NO_SUCH_FILE},
     * {@link #OUT_OF_RANGE} (nothing read), {@link #SHRANK} (end of file before the range's end)
     * or {@link #TOO_LONG} (the path does not fit the buffer: the caller reads another way).
     * Other errors throw {@link StoreException} naming the key and errno.
     *
     * @param root the store root's bytes (UTF-8) followed by '/'
     * @param key  an already validated key (ASCII only, see {@link Keys})
     */
    long read(byte[] root, String key, long offset, MemorySegment dst, String describe) {
        Scratch s = scratch.get();
        int n = root.length + key.length();
        if (n + 1 > PATH_MAX) {
            return TOO_LONG;
        }
        MemorySegment path = s.path;
        MemorySegment.copy(root, 0, path, ValueLayout.JAVA_BYTE, 0, root.length);
        for (int i = 0; i < key.length(); i++) {
            path.set(ValueLayout.JAVA_BYTE, root.length + i, (byte) key.charAt(i));
        }
        path.set(ValueLayout.JAVA_BYTE, n, (byte) 0);
        try {
            int fd;
            do {
                fd = (int) OPEN.invokeExact(s.state, path, O_RDONLY | O_CLOEXEC);
            } while (fd < 0 && errno(s) == EINTR);
            if (fd < 0) {
                int e = errno(s);
                if (e == ENOENT || e == ENOTDIR) {
                    return NO_SUCH_FILE;
                }
                throw failure("open", e, key, describe);
            }
            try {
                long size = (long) LSEEK.invokeExact(s.state, fd, 0L, SEEK_END);
                if (size < 0) {
                    throw failure("lseek", errno(s), key, describe);
                }
                long want = dst.byteSize();
                if (offset < 0 || offset + want > size) {
                    return OUT_OF_RANGE;
                }
                long done = 0;
                while (done < want) {
                    MemorySegment to = done == 0 ? dst : dst.asSlice(done); // a short read is rare: no slice per read
                    long got = (long) PREAD.invokeExact(s.state, fd, to, want - done, offset + done);
                    if (got < 0) {
                        int e = errno(s);
                        if (e == EINTR) {
                            continue;
                        }
                        throw failure("pread", e, key, describe);
                    }
                    if (got == 0) {
                        return SHRANK;
                    }
                    done += got;
                }
                return size;
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd); // read-only: nothing to lose if close fails
            }
        } catch (StoreException e) {
            throw e;
        } catch (Throwable t) {
            throw new StoreException("ranged read of " + key + " in " + describe + " failed: " + t, key, t);
        }
    }

    private static int errno(Scratch s) {
        return (int) ERRNO.get(s.state, 0L);
    }

    private static StoreException failure(String call, int errno, String key, String describe) {
        return new StoreException("ranged read of " + key + " in " + describe + " failed: " + call + "(2) errno " + errno, key);
    }
}
