package io.lakestream.store;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * How {@link PosixReads}, {@link PosixWrites}, {@link InotifyWatch} and {@link FileMapping} bind
 * libc through {@code java.lang.foreign}:
 * which platforms their constants are right for, the lookup of a symbol, the option that
 * captures errno after a call, and how errno is read back from the buffer it is captured into.
 * Each of those classes keeps its handles in static finals of its own (the JIT binds a call
 * through a static final handle directly, through an instance field only in its generic form),
 * so an instance here only binds them and says whether all of them bound.
 *
 * <p>A handle that cannot be bound (another platform, no native linker, native access denied,
 * no such symbol) is null and leaves {@link #bound()} false for good: the caller then uses the
 * JDK's calls instead, as it does on every platform where this class is not used.
 */
final class Libc {
    // The Linux values both classes use (asm-generic: the same on x86-64, aarch64 and the other ports the JDK has).
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int EINTR = 4;
    /** The longest path, its NUL included: the size of each per-thread path buffer. */
    static final int PATH_MAX = 4096;

    /** The buffer a call with errno capture writes its errno into; the caller allocates one per thread. */
    static final StructLayout STATE = Linker.Option.captureStateLayout(); // a plain layout: no linker needed
    /** errno in a {@link #STATE} buffer: {@code (int) ERRNO.get(state, 0L)}. */
    static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private boolean bound;

    private Libc(boolean platform) {
        bound = platform;
    }

    /** Binds on Linux, whose errno numbers and read flags are the same on every port the JDK has (asm-generic). */
    static Libc onLinux() {
        return new Libc(System.getProperty("os.name", "").startsWith("Linux"));
    }

    /** Binds on Linux on x86-64 or aarch64 only, the ports whose {@code open(2)} creation flags were checked. */
    static Libc onLinuxX64OrAarch64() {
        String arch = System.getProperty("os.arch", "");
        return new Libc(System.getProperty("os.name", "").startsWith("Linux") && (arch.equals("amd64") || arch.equals("aarch64")));
    }

    /**
     * A handle on libc's {@code name} whose first argument is a {@link #STATE} buffer that
     * receives the call's errno, followed by the arguments of {@code signature}; null if it
     * cannot be bound.
     *
     * @param more further options, such as {@code Linker.Option.firstVariadicArg}
     */
    MethodHandle find(String name, FunctionDescriptor signature, Linker.Option... more) {
        if (!bound) {
            return null;
        }
        Linker.Option[] options = new Linker.Option[more.length + 1];
        options[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(more, 0, options, 1, more.length);
        return bind(name, signature, options);
    }

    /**
     * A handle on libc's {@code name} without errno capture; null if it cannot be bound. For calls
     * whose failure's reason is not used, and for the first try of a call that is safe to make
     * again (a failed {@code open}, {@code pread}, {@code write}, {@code link}, {@code rename}:
     * nothing happened): the caller makes it once more through the capturing handle
     * ({@link #find}) only when it failed, to learn why. A capturing call slices its errno buffer
     * each time (the JDK's check of the capture segment), 40 B of garbage unless the JIT happens
     * to scalar-replace it, which it did for some call sites and runs and not others (issue 23).
     * Calls that must not be repeated keep the capture: {@code fsync}/{@code fdatasync} (a
     * second call after a failure can succeed with the data lost) and {@code close}.
     */
    MethodHandle findIgnoringErrno(String name, FunctionDescriptor signature, Linker.Option... options) {
        return bound ? bind(name, signature, options) : null;
    }

    /** Whether this is the platform asked for and every handle found so far was bound. */
    boolean bound() {
        return bound;
    }

    private MethodHandle bind(String name, FunctionDescriptor signature, Linker.Option... options) {
        try {
            Linker linker = Linker.nativeLinker();
            MemorySegment symbol = linker.defaultLookup().find(name).orElse(null);
            if (symbol != null) {
                return linker.downcallHandle(symbol, signature, options);
            }
        } catch (RuntimeException | LinkageError e) { // no linker for this platform, native access denied
        }
        bound = false;
        return null;
    }
}
