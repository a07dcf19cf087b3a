package io.lakestream.store;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * What a failed libc call of {@link PosixWrites} is reported as: the exception the JDK throws
 * for the same errno (as its {@code UnixException} makes it), so that {@link FileStore}'s
 * messages are the same through either mechanism. Only on a failure's path.
 */
final class PosixErrors {
    // Linux values (asm-generic, x86-64 and aarch64).
    static final int ENOENT = 2;
    static final int EACCES = 13;
    static final int EEXIST = 17;
    static final int ELOOP = 40;
    private static final MethodHandle STRERROR = bind();

    private PosixErrors() {}

    private static MethodHandle bind() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("strerror")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null; // messages then say "errno N"
        }
    }

    /** The exception the JDK throws for {@code errno} of a call on {@code file} (and {@code other}). */
    static IOException pathFailure(int errno, MemorySegment file, MemorySegment other) {
        String f = file.getString(0);
        String o = other == null ? null : other.getString(0);
        return switch (errno) {
            case EACCES -> new AccessDeniedException(f, o, null);
            case ENOENT -> new NoSuchFileException(f, o, null);
            case EEXIST -> new FileAlreadyExistsException(f, o, null);
            case ELOOP -> new FileSystemException(f, o, strerror(errno) + " or unable to access attributes of symbolic link");
            default -> new FileSystemException(f, o, strerror(errno));
        };
    }

    /** The C library's text for {@code errno}. */
    static String strerror(int errno) {
        if (STRERROR == null) {
            return "errno " + errno;
        }
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.equals(MemorySegment.NULL) ? "errno " + errno : text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
