package io.lakestream.store;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The system calls of {@link FileStore}'s writes, libc's {@code open}, {@code write},
 * {@code fdatasync}, {@code fsync}, {@code close}, {@code link}, {@code rename}, {@code unlink}
 * and {@code access}, called through {@code java.lang.foreign}. {@code FileStore} keeps the
 * protocol (a hidden temporary file, fsynced, published by {@code link(2)} or {@code rename(2)},
 * the directory fsynced); this class only replaces the JDK's mechanism for each call. A write
 * through {@code FileChannel} and {@code Files} leaves ≈ 2.8 KB of heap garbage per object (the
 * channel, its descriptor and cleaner, the {@code Path}s of the target, its directory and the
 * temporary file and their strings, the attributes of the existence check and of the delete);
 * with a batch object per batch and a version file every few batches it was the largest item of
 * the producer's garbage (issue 23). Here the three paths go into a per-thread native buffer,
 * heap bytes are copied to the kernel through a per-thread native chunk, and errno is captured
 * into another buffer, so a write allocates nothing on the heap unless it fails.
 *
 * <p>Failures are thrown as the JDK throws them, so that {@code FileStore}'s messages stay the
 * same ({@link PosixErrors}): {@link NoSuchFileException}, {@code FileAlreadyExistsException} and
 * {@code AccessDeniedException} for their errno, {@code FileSystemException} naming the file for
 * other errors of calls that take a path, and a plain {@link IOException} with the error's text
 * for {@code write}, {@code fdatasync}, {@code fsync} and {@code close}.
 *
 * <p>Linux on x86-64 and aarch64 only (the flag values and errno numbers are theirs);
 * {@link #get()} is null elsewhere or where the symbols cannot be bound, and {@code FileStore}
 * then writes through channels as before.
 */
final class PosixWrites {
    // Linux x86-64 and aarch64 values (asm-generic); the ones PosixReads uses too are Libc's.
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0x40;
    private static final int O_EXCL = 0x80;
    /** The mode {@code FileChannel.open} creates files with: rw for all, less the umask. */
    private static final int MODE_RW_ALL = 0666;
    private static final int F_OK = 0;
    private static final int EXDEV = 18;
    private static final int EINVAL = 22;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    /** {@code O_DIRECT}: the one flag used here whose value differs between x86-64 and aarch64. */
    private static final int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0x10000 : 0x4000;
    /**
     * The alignment of a direct write's memory, length and file offset: the page size, a
     * multiple of every logical block size that Linux file systems ask for (512 or 4096).
     */
    static final long DIRECT_ALIGNMENT = 4096;
    /** Bytes of a heap source copied to native memory per {@code write(2)}: the JDK's temporary direct buffers go to 64 KiB per call too. */
    static final int CHUNK = 64 << 10;
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    // Static finals, so the JIT binds the calls directly. Null where the platform has no such calls.
    private static final Libc LIBC = Libc.onLinuxX64OrAarch64();
    // open(2) is variadic: its mode (read with O_CREAT) is the first variadic argument.
    private static final MethodHandle OPEN = LIBC.find("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle WRITE = LIBC.find("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FDATASYNC = LIBC.find("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FSYNC = LIBC.find("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // fcntl(2) is variadic: its third argument is the first variadic one
    private static final MethodHandle FCNTL = LIBC.find("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = LIBC.find("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle LINK = LIBC.find("link", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle RENAME = LIBC.find("rename", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    // The first try of each call that is safe to repeat, without errno capture (its garbage:
    // Libc#findIgnoringErrno); the capturing handle above makes it again only when it failed.
    private static final MethodHandle OPEN_FIRST = LIBC.findIgnoringErrno("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle WRITE_FIRST = LIBC.findIgnoringErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FCNTL_FIRST = LIBC.findIgnoringErrno("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle LINK_FIRST = LIBC.findIgnoringErrno("link", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle RENAME_FIRST = LIBC.findIgnoringErrno("rename", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    // no errno for these: an unlink's failure and the reason a name is not there are not used
    private static final MethodHandle UNLINK = LIBC.findIgnoringErrno("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ACCESS = LIBC.findIgnoringErrno("access", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    /** Null unless every call bound: writes then go through channels. */
    private static final PosixWrites INSTANCE = LIBC.bound() ? new PosixWrites() : null;

    private final ThreadLocal<Names> names = ThreadLocal.withInitial(Names::new);

    /**
     * One thread's native buffers: the paths of one write (its target, the target's directory
     * and a temporary name beside it, each NUL-terminated), a chunk for heap bytes, and the
     * errno of the last call.
     */
    static final class Names {
        final MemorySegment target;
        final MemorySegment dir;
        final MemorySegment temp;
        final MemorySegment chunk;
        final MemorySegment state;

        Names() {
            Arena a = Arena.ofAuto(); // freed with the thread's names, not per write
            target = a.allocate(Libc.PATH_MAX);
            dir = a.allocate(Libc.PATH_MAX);
            temp = a.allocate(Libc.PATH_MAX);
            chunk = a.allocate(CHUNK);
            state = a.allocate(Libc.STATE);
        }

        private int errno() {
            return (int) Libc.ERRNO.get(state, 0L);
        }
    }

    private PosixWrites() {}

    /** The writer of this platform, or null where writes go through {@code FileChannel} and {@code Files}. */
    static PosixWrites get() {
        return INSTANCE;
    }

    /**
     * This thread's names for the object {@code root/key}: its path, its directory's and a fresh
     * temporary name beside it, {@code .<name>.<random hex>.tmp} (hidden: {@link Keys} forbids a
     * leading '.'). Null if a path does not fit the buffers (the caller writes another way).
     *
     * @param root the store root's bytes (UTF-8) followed by '/'
     * @param key  an already validated key (ASCII only, see {@link Keys})
     */
    Names names(byte[] root, String key) {
        int n = root.length + key.length();
        if (n + 1 + 22 > Libc.PATH_MAX) { // the temporary name is at most 22 bytes longer
            return null;
        }
        Names s = names.get();
        int slash = key.lastIndexOf('/');
        MemorySegment.copy(root, 0, s.target, ValueLayout.JAVA_BYTE, 0, root.length);
        MemorySegment.copy(root, 0, s.temp, ValueLayout.JAVA_BYTE, 0, root.length);
        MemorySegment.copy(root, 0, s.dir, ValueLayout.JAVA_BYTE, 0, root.length);
        ascii(key, 0, key.length(), s.target, root.length);
        s.target.set(ValueLayout.JAVA_BYTE, n, (byte) 0);
        // the directory: the root without its '/' for a key at the top, else up to the key's last '/'
        int dirEnd = slash < 0 ? Math.max(1, root.length - 1) : root.length + ascii(key, 0, slash, s.dir, root.length);
        s.dir.set(ValueLayout.JAVA_BYTE, dirEnd, (byte) 0);
        int t = root.length + ascii(key, 0, slash + 1, s.temp, root.length);
        s.temp.set(ValueLayout.JAVA_BYTE, t++, (byte) '.');
        t += ascii(key, slash + 1, key.length(), s.temp, t);
        s.temp.set(ValueLayout.JAVA_BYTE, t++, (byte) '.');
        long r = ThreadLocalRandom.current().nextLong();
        for (int shift = Math.max(0, (63 - Long.numberOfLeadingZeros(r)) & ~3); shift >= 0; shift -= 4) { // as Long.toHexString
            s.temp.set(ValueLayout.JAVA_BYTE, t++, HEX[(int) (r >>> shift) & 0xF]);
        }
        t += ascii(".tmp", 0, 4, s.temp, t);
        s.temp.set(ValueLayout.JAVA_BYTE, t, (byte) 0);
        return s;
    }

    private static int ascii(String s, int from, int to, MemorySegment dst, long at) {
        for (int i = from; i < to; i++) {
            dst.set(ValueLayout.JAVA_BYTE, at + i - from, (byte) s.charAt(i));
        }
        return to - from;
    }

    /** Whether the target exists ({@code access(F_OK)}, as {@code Files.exists}: false also where it cannot be told). */
    boolean exists(Names s) {
        try {
            return (int) ACCESS.invokeExact(s.target, F_OK) == 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Creates the temporary file, which must not exist ({@code O_CREAT | O_EXCL}), for writing.
     *
     * @return its descriptor
     * @throws NoSuchFileException if its directory does not exist
     */
    int createTemp(Names s) throws IOException {
        return createTemp(s, 0);
    }

    /**
     * As {@link #createTemp(Names)}, opened for direct I/O ({@code O_DIRECT}): writes of aligned
     * memory go from it to the device without the page cache.
     *
     * @return its descriptor, or -1 if the file system has no direct I/O ({@code EINVAL}); the
     *         temporary file is then not there
     */
    int createTempDirect(Names s) throws IOException {
        try {
            return createTemp(s, O_DIRECT);
        } catch (IOException e) {
            if (s.errno() == EINVAL) {
                return -1;
            }
            throw e;
        }
    }

    private int createTemp(Names s, int extra) throws IOException {
        int fd;
        do {
            fd = open(s, s.temp, O_WRONLY | O_CREAT | O_EXCL | Libc.O_CLOEXEC | extra, MODE_RW_ALL);
        } while (fd < 0 && s.errno() == Libc.EINTR);
        if (fd < 0) {
            throw PosixErrors.pathFailure(s.errno(), s.temp, null);
        }
        return fd;
    }

    /**
     * Writes {@code data} through a descriptor opened by {@link #createTempDirect}: its aligned
     * part direct, the rest (less than {@link #DIRECT_ALIGNMENT} bytes) through the page cache
     * after {@code fcntl(2)} has turned direct I/O off for the descriptor.
     *
     * @param data native memory whose address is a multiple of {@link #DIRECT_ALIGNMENT}
     * @return false if the file system refused the direct write ({@code EINVAL}): nothing was
     *         written, and the descriptor now writes through the page cache
     */
    boolean writeDirect(Names s, int fd, MemorySegment data) throws IOException {
        long size = data.byteSize();
        long aligned = size & -DIRECT_ALIGNMENT;
        long done = 0;
        while (done < aligned) {
            long got = writeOnce(s, fd, done == 0 ? data : data.asSlice(done), aligned - done);
            if (got < 0) {
                if (s.errno() == EINVAL && done == 0) {
                    clearDirect(s, fd);
                    return false;
                }
                throw new IOException(PosixErrors.strerror(s.errno()));
            }
            done += got;
            if (done % DIRECT_ALIGNMENT != 0) { // a short direct write off the alignment: the rest through the cache
                break;
            }
        }
        clearDirect(s, fd);
        if (done < size) {
            writeFully(s, fd, data.asSlice(done));
        }
        return true;
    }

    private void clearDirect(Names s, int fd) throws IOException {
        int flags = fcntl(s, fd, F_GETFL, 0);
        if (flags < 0 || fcntl(s, fd, F_SETFL, flags & ~O_DIRECT) < 0) {
            throw new IOException(PosixErrors.strerror(s.errno()));
        }
    }

    /** Writes all of {@code data}: native memory straight to the kernel, heap memory through the thread's chunk. */
    void writeFully(Names s, int fd, MemorySegment data) throws IOException {
        long size = data.byteSize();
        if (data.isNative()) {
            long done = 0;
            while (done < size) {
                MemorySegment from = done == 0 ? data : data.asSlice(done); // a short write is rare: no slice per write
                done += write(s, fd, from, size - done);
            }
        } else {
            for (long at = 0; at < size; ) {
                int n = (int) Math.min(CHUNK, size - at);
                MemorySegment.copy(data, at, s.chunk, 0, n);
                writeChunk(s, fd, n);
                at += n;
            }
        }
    }

    /** Writes all of {@code data} through the thread's chunk. */
    void writeFully(Names s, int fd, byte[] data) throws IOException {
        for (int at = 0; at < data.length; ) {
            int n = Math.min(CHUNK, data.length - at);
            MemorySegment.copy(data, at, s.chunk, ValueLayout.JAVA_BYTE, 0, n);
            writeChunk(s, fd, n);
            at += n;
        }
    }

    private void writeChunk(Names s, int fd, int n) throws IOException {
        long done = 0;
        while (done < n) {
            done += write(s, fd, done == 0 ? s.chunk : s.chunk.asSlice(done), n - done);
        }
    }

    private long write(Names s, int fd, MemorySegment from, long n) throws IOException {
        long got = writeOnce(s, fd, from, n);
        if (got < 0) {
            throw new IOException(PosixErrors.strerror(s.errno()));
        }
        return got;
    }

    /** One {@code write(2)}, repeated on {@code EINTR}: the bytes written, or -1 with the errno in {@code s}. */
    private static long writeOnce(Names s, int fd, MemorySegment from, long n) {
        for (;;) {
            long got;
            try {
                got = (long) WRITE_FIRST.invokeExact(fd, from, n);
                if (got < 0) { // nothing was written: again, to learn why
                    got = (long) WRITE.invokeExact(s.state, fd, from, n);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (got >= 0 || s.errno() != Libc.EINTR) {
                return got;
            }
        }
    }

    /** {@code fdatasync(2)}: the data and the size, what reading the file back needs ({@code FileChannel.force(false)}). */
    void syncData(Names s, int fd) throws IOException {
        if (fdatasync(s, fd) < 0) {
            throw new IOException(PosixErrors.strerror(s.errno()));
        }
    }

    /** Closes a descriptor this class opened; a failure is thrown (a write's error can surface only here on some file systems). */
    void close(Names s, int fd) throws IOException {
        if (closeFd(s, fd) < 0 && s.errno() != Libc.EINTR) { // Linux frees the descriptor even on EINTR
            throw new IOException(PosixErrors.strerror(s.errno()));
        }
    }

    /**
     * Publishes the temporary file under the target's name with {@code link(2)}, which fails if
     * the name exists (atomic across processes).
     *
     * @return false if the target exists
     */
    boolean link(Names s) throws IOException {
        if (link(s, s.temp, s.target) == 0) {
            return true;
        }
        int e = s.errno();
        if (e == PosixErrors.EEXIST) {
            return false;
        }
        throw PosixErrors.pathFailure(e, s.target, s.temp); // as Files.createLink(target, temp)
    }

    /** Replaces the target by the temporary file with {@code rename(2)} (atomic). */
    void rename(Names s) throws IOException {
        if (rename(s, s.temp, s.target) == 0) {
            return;
        }
        int e = s.errno();
        if (e == EXDEV) { // as Files.move(temp, target, ATOMIC_MOVE)
            throw new AtomicMoveNotSupportedException(s.temp.getString(0), s.target.getString(0), PosixErrors.strerror(e));
        }
        throw PosixErrors.pathFailure(e, s.temp, s.target);
    }

    /** {@code fsync(2)} of the target's directory, so that names made in it survive a power loss. */
    void syncDirectory(Names s) throws IOException {
        int fd;
        do {
            fd = open(s, s.dir, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        } while (fd < 0 && s.errno() == Libc.EINTR);
        if (fd < 0) {
            throw PosixErrors.pathFailure(s.errno(), s.dir, null);
        }
        IOException failed = null;
        if (fsync(s, fd) < 0) {
            failed = new IOException(PosixErrors.strerror(s.errno()));
        }
        if (closeFd(s, fd) < 0 && failed == null && s.errno() != Libc.EINTR) {
            failed = new IOException(PosixErrors.strerror(s.errno()));
        }
        if (failed != null) {
            throw failed;
        }
    }

    /** Removes the temporary file if it is there; a leftover is invisible to readers and listing. */
    void unlinkTemp(Names s) {
        unlink(s, s.temp);
    }

    /** The temporary file's path, for a message. */
    String tempPath(Names s) {
        return s.temp.getString(0);
    }

    // One method per call, each invoking its own static final handles. A call that is safe to
    // repeat is made without errno capture, and once more with it only when it failed (nothing
    // happened, so the second try either fails the same way or does what the first did not):
    // a capturing call allocates a slice of the errno buffer unless the JIT scalar-replaces it
    // (Libc#findIgnoringErrno). fdatasync, fsync and close keep the capture: never made twice.

    private static int open(Names s, MemorySegment path, int flags, int mode) {
        try {
            int r = (int) OPEN_FIRST.invokeExact(path, flags, mode);
            return r >= 0 ? r : (int) OPEN.invokeExact(s.state, path, flags, mode);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int fcntl(Names s, int fd, int cmd, int arg) {
        try {
            int r = (int) FCNTL_FIRST.invokeExact(fd, cmd, arg);
            return r >= 0 ? r : (int) FCNTL.invokeExact(s.state, fd, cmd, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int fdatasync(Names s, int fd) {
        try {
            return (int) FDATASYNC.invokeExact(s.state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int fsync(Names s, int fd) {
        try {
            return (int) FSYNC.invokeExact(s.state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int closeFd(Names s, int fd) {
        try {
            return (int) CLOSE.invokeExact(s.state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int link(Names s, MemorySegment from, MemorySegment to) {
        try {
            int r = (int) LINK_FIRST.invokeExact(from, to);
            return r >= 0 ? r : (int) LINK.invokeExact(s.state, from, to);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int rename(Names s, MemorySegment from, MemorySegment to) {
        try {
            int r = (int) RENAME_FIRST.invokeExact(from, to);
            return r >= 0 ? r : (int) RENAME.invokeExact(s.state, from, to);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int unlink(Names s, MemorySegment path) {
        try {
            return (int) UNLINK.invokeExact(path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("native call failed: " + t, t);
    }
}
