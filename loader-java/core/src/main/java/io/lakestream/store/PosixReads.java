package io.lakestream.store;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

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
    // Linux values (asm-generic); the ones PosixWrites uses too are Libc's.
    private static final int SEEK_END = 2;
    private static final int ENOTDIR = 20;

    // Static finals, so the JIT binds the calls directly (a handle in an instance field is called
    // through its generic form). Null where the platform has no such calls.
    private static final Libc LIBC = Libc.onLinux();
    // open(2) is variadic, but its mode argument is read only with O_CREAT: called with two.
    private static final MethodHandle OPEN = LIBC.find("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LSEEK = LIBC.find("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PREAD = LIBC.find("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle CLOSE = LIBC.findIgnoringErrno("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // The first try of each call, without errno capture (its garbage: Libc#findIgnoringErrno): a
    // read-only open, an lseek and a pread change nothing when they fail, so the capturing
    // handle above makes the call again, to learn why, only then.
    private static final MethodHandle OPEN_FIRST = LIBC.findIgnoringErrno("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LSEEK_FIRST = LIBC.findIgnoringErrno("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PREAD_FIRST = LIBC.findIgnoringErrno("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    /** Null unless every call bound: reads then go through channels. */
    private static final PosixReads INSTANCE = LIBC.bound() ? new PosixReads() : null;

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** One thread's native buffers: the path being opened and the errno of its last call. */
    private static final class Scratch {
        final MemorySegment path;
        final MemorySegment state;

        Scratch() {
            Arena a = Arena.ofAuto(); // freed with the thread's scratch, not per read
            path = a.allocate(Libc.PATH_MAX);
            state = a.allocate(Libc.STATE);
        }
    }

    private PosixReads() {}

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
        if (n + 1 > Libc.PATH_MAX) {
            return TOO_LONG;
        }
        MemorySegment path = s.path;
        MemorySegment.copy(root, 0, path, ValueLayout.JAVA_BYTE, 0, root.length);
        for (int i = 0; i < key.length(); i++) {
            path.set(ValueLayout.JAVA_BYTE, root.length + i, (byte) key.charAt(i));
        }
        path.set(ValueLayout.JAVA_BYTE, n, (byte) 0);
        try {
            int fd = (int) OPEN_FIRST.invokeExact(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
            while (fd < 0) {
                fd = (int) OPEN.invokeExact(s.state, path, Libc.O_RDONLY | Libc.O_CLOEXEC);
                if (fd >= 0 || errno(s) != Libc.EINTR) {
                    break;
                }
            }
            if (fd < 0) {
                int e = errno(s);
                if (e == PosixErrors.ENOENT || e == ENOTDIR) {
                    return NO_SUCH_FILE;
                }
                throw failure("open", e, key, describe);
            }
            try {
                long size = (long) LSEEK_FIRST.invokeExact(fd, 0L, SEEK_END);
                if (size < 0) {
                    size = (long) LSEEK.invokeExact(s.state, fd, 0L, SEEK_END);
                }
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
                    long got = (long) PREAD_FIRST.invokeExact(fd, to, want - done, offset + done);
                    if (got < 0) {
                        got = (long) PREAD.invokeExact(s.state, fd, to, want - done, offset + done);
                    }
                    if (got < 0) {
                        int e = errno(s);
                        if (e == Libc.EINTR) {
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
        return (int) Libc.ERRNO.get(s.state, 0L);
    }

    private static StoreException failure(String call, int errno, String key, String describe) {
        return new StoreException("ranged read of " + key + " in " + describe + " failed: " + call + "(2) errno " + errno, key);
    }
}
