package io.lakestream.memory;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * Binds {@code libls_shims.so} (module {@code native-shims}) with {@code java.lang.foreign}: no
 * JNI. The library travels as a class-path resource; the first use copies it to a temporary
 * file, loads it into the global arena (it stays loaded for the life of the JVM, as a JNI
 * library would) and deletes the file at once: the mapping survives the unlink, so nothing is
 * left behind even if the JVM is killed.
 *
 * <p>Loading never throws: {@link #get()} is empty when the library cannot be loaded (another
 * OS or CPU, the jar missing, native access denied) and {@link #unavailableReason()} says why.
 * The system property {@code lakestream.shims.library} points at a library file to use instead
 * of the bundled one (for developing the shim).
 *
 * <p>Error text ({@link #lastError()}) is per native thread; read it on the thread that made
 * the failing call, right after it.
 */
public final class NativeShims {
    /** Where the native-shims jar puts the library. */
    public static final String RESOURCE = "/native/linux-x86_64/libls_shims.so";
    public static final String LIBRARY_PROPERTY = "lakestream.shims.library";

    // The shim's status codes (ls_shims.c).
    private static final int LS_ERR_NO_CUDA = -1;
    // Both strings live in fixed 512-byte buffers in the shim: bound the views to exactly that.
    private static final AddressLayout C_STRING =
            ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(512, ValueLayout.JAVA_BYTE));
    private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong C_SIZE_T = ValueLayout.JAVA_LONG;
    private static final AddressLayout C_PTR = ValueLayout.ADDRESS;

    private final Path source;
    private final MethodHandle version;
    private final MethodHandle cudaAvailable;
    private final MethodHandle pinMode;
    private final MethodHandle modeReason;
    private final MethodHandle lastError;
    private final MethodHandle pin;
    private final MethodHandle unpin;
    private final MethodHandle streamCreate;
    private final MethodHandle streamSync;
    private final MethodHandle streamDestroy;
    private final MethodHandle cudaMalloc;
    private final MethodHandle cudaFree;
    private final MethodHandle h2dAsync;
    private final MethodHandle d2h;
    private final MethodHandle eventRecord;
    private final MethodHandle eventDone;
    private final MethodHandle eventSync;
    private final MethodHandle eventDestroy;
    private final MethodHandle streamSleep;

    /** Loaded once, on first use; holds the shims or the reason they are unavailable. */
    private static final class Holder {
        static final NativeShims SHIMS;
        static final String WHY_NOT;

        static {
            NativeShims s = null;
            String why = null;
            try {
                s = load();
            } catch (IOException | RuntimeException | LinkageError e) {
                why = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            SHIMS = s;
            WHY_NOT = why;
        }
    }

    private NativeShims(SymbolLookup lib, Path source) {
        this.source = source;
        Linker linker = Linker.nativeLinker();
        this.version = bind(linker, lib, "ls_shims_version", FunctionDescriptor.of(C_INT));
        this.cudaAvailable = bind(linker, lib, "ls_cuda_available", FunctionDescriptor.of(C_INT));
        this.pinMode = bind(linker, lib, "ls_pin_mode", FunctionDescriptor.of(C_INT));
        this.modeReason = bind(linker, lib, "ls_mode_reason", FunctionDescriptor.of(C_STRING));
        this.lastError = bind(linker, lib, "ls_last_error", FunctionDescriptor.of(C_STRING));
        this.pin = bind(linker, lib, "ls_pin", FunctionDescriptor.of(C_INT, C_PTR, C_SIZE_T));
        this.unpin = bind(linker, lib, "ls_unpin", FunctionDescriptor.of(C_INT, C_PTR, C_SIZE_T, C_INT));
        this.streamCreate = bind(linker, lib, "ls_cuda_stream_create", FunctionDescriptor.of(C_INT, C_PTR));
        this.streamSync = bind(linker, lib, "ls_cuda_stream_sync", FunctionDescriptor.of(C_INT, C_PTR));
        this.streamDestroy = bind(linker, lib, "ls_cuda_stream_destroy", FunctionDescriptor.of(C_INT, C_PTR));
        this.cudaMalloc = bind(linker, lib, "ls_cuda_malloc", FunctionDescriptor.of(C_INT, C_PTR, C_SIZE_T));
        this.cudaFree = bind(linker, lib, "ls_cuda_free", FunctionDescriptor.of(C_INT, C_PTR));
        this.h2dAsync = bind(linker, lib, "ls_cuda_memcpy_h2d_async", FunctionDescriptor.of(C_INT, C_PTR, C_PTR, C_SIZE_T, C_PTR));
        this.d2h = bind(linker, lib, "ls_cuda_memcpy_d2h", FunctionDescriptor.of(C_INT, C_PTR, C_PTR, C_SIZE_T));
        this.eventRecord = bind(linker, lib, "ls_cuda_event_record", FunctionDescriptor.of(C_INT, C_PTR, C_PTR));
        this.eventDone = bind(linker, lib, "ls_cuda_event_done", FunctionDescriptor.of(C_INT, C_PTR));
        this.eventSync = bind(linker, lib, "ls_cuda_event_sync", FunctionDescriptor.of(C_INT, C_PTR));
        this.eventDestroy = bind(linker, lib, "ls_cuda_event_destroy", FunctionDescriptor.of(C_INT, C_PTR));
        this.streamSleep = bind(linker, lib, "ls_cuda_stream_sleep", FunctionDescriptor.of(C_INT, C_PTR, C_SIZE_T));
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lib, String name, FunctionDescriptor fd) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new IllegalStateException("libls_shims.so lacks " + name));
        return linker.downcallHandle(sym, fd);
    }

    private static NativeShims load() throws IOException {
        String override = System.getProperty(LIBRARY_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            return new NativeShims(SymbolLookup.libraryLookup(p, Arena.global()), p);
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("libls_shims.so is built for linux-x86_64 only, this is " + os + "/" + arch);
        }
        Path tmp = null;
        try (InputStream in = NativeShims.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path (is lakestream-native-shims.jar missing?)");
            }
            tmp = Files.createTempFile("libls_shims-", ".so");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            NativeShims s = new NativeShims(SymbolLookup.libraryLookup(tmp, Arena.global()), Path.of(RESOURCE));
            s.check();
            return s;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp); // already mapped: the library stays loaded
            }
        }
    }

    private void check() {
        int v = version();
        if (v < 2) {
            throw new IllegalStateException("libls_shims.so reports version " + v);
        }
    }

    /** The shims, or empty when they cannot be loaded here (see {@link #unavailableReason()}). */
    public static Optional<NativeShims> get() {
        return Optional.ofNullable(Holder.SHIMS);
    }

    /** Why {@link #get()} is empty; null when the shims are loaded. */
    public static String unavailableReason() {
        return Holder.WHY_NOT;
    }

    /** The shims; throws {@link IllegalStateException} with the reason when unavailable. */
    public static NativeShims require() {
        NativeShims s = Holder.SHIMS;
        if (s == null) {
            throw new IllegalStateException("native shims unavailable: " + Holder.WHY_NOT);
        }
        return s;
    }

    /** Where the library was loaded from (the class-path resource, or the override file). */
    public Path source() {
        return source;
    }

    public int version() {
        try {
            return (int) version.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** True when a CUDA runtime and at least one device were found (and not disabled). */
    public boolean cudaAvailable() {
        try {
            return (int) cudaAvailable.invokeExact() != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The mode {@link #pin} tries first in this process. */
    public Pinner.Mode preferredMode() {
        try {
            return mode((int) pinMode.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Why {@link #preferredMode()} is what it is, e.g. "mlock (no CUDA runtime (...))". */
    public String modeReason() {
        try {
            return ((MemorySegment) modeReason.invokeExact()).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The last failure's text on this thread ("" if none). */
    public String lastError() {
        try {
            return ((MemorySegment) lastError.invokeExact()).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Pins {@code seg} with the best mode that works; NONE leaves the reason in {@link #lastError()}. */
    public Pinner.Mode pin(MemorySegment seg) {
        try {
            return mode((int) pin.invokeExact(seg, seg.byteSize()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Undoes {@link #pin}; false (reason in {@link #lastError()}) if the OS or CUDA refused. */
    public boolean unpin(MemorySegment seg, Pinner.Mode mode) {
        try {
            return (int) unpin.invokeExact(seg, seg.byteSize(), code(mode)) == 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------ CUDA (when available)

    /** A new CUDA stream's handle. */
    public long cudaStreamCreate() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_PTR);
            check((int) streamCreate.invokeExact(out), "cudaStreamCreate");
            return out.get(C_PTR, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void cudaStreamSynchronize(long stream) {
        try {
            check((int) streamSync.invokeExact(MemorySegment.ofAddress(stream)), "cudaStreamSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void cudaStreamDestroy(long stream) {
        try {
            check((int) streamDestroy.invokeExact(MemorySegment.ofAddress(stream)), "cudaStreamDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Device memory of {@code bytes}; returns the device pointer. */
    public long cudaMalloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_PTR);
            check((int) cudaMalloc.invokeExact(out, bytes), "cudaMalloc");
            return out.get(C_PTR, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void cudaFree(long devicePtr) {
        try {
            check((int) cudaFree.invokeExact(MemorySegment.ofAddress(devicePtr)), "cudaFree");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Queues a copy of {@code src} to device memory on {@code stream} and returns at once. Keep
     * {@code src}'s batch open until the stream is synchronised: the copy reads it later. From a
     * CUDA-pinned slab this is a DMA transfer; from other memory CUDA stages it synchronously.
     */
    public void copyToDeviceAsync(long devicePtr, MemorySegment src, long stream) {
        try {
            check((int) h2dAsync.invokeExact(MemorySegment.ofAddress(devicePtr), src, src.byteSize(),
                    MemorySegment.ofAddress(stream)), "cudaMemcpyAsync");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Copies {@code dst.byteSize()} bytes from device memory into {@code dst}, synchronously. */
    public void copyToHost(MemorySegment dst, long devicePtr) {
        try {
            check((int) d2h.invokeExact(dst, MemorySegment.ofAddress(devicePtr), dst.byteSize()), "cudaMemcpy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Records a new CUDA event on {@code stream} (0: the legacy default stream); it completes when
     * everything queued on the stream before this call has run. Destroy it with
     * {@link #cudaEventDestroy}.
     */
    public long cudaEventRecord(long stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(C_PTR);
            check((int) eventRecord.invokeExact(MemorySegment.ofAddress(stream), out), "cudaEventRecord");
            return out.get(C_PTR, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** True when the work queued before the event has run (cudaEventQuery). */
    public boolean cudaEventDone(long event) {
        try {
            int rc = (int) eventDone.invokeExact(MemorySegment.ofAddress(event));
            if (rc < 0) {
                check(rc, "cudaEventQuery");
            }
            return rc == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void cudaEventSynchronize(long event) {
        try {
            check((int) eventSync.invokeExact(MemorySegment.ofAddress(event)), "cudaEventSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void cudaEventDestroy(long event) {
        try {
            check((int) eventDestroy.invokeExact(MemorySegment.ofAddress(event)), "cudaEventDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Queues a host function sleeping {@code micros} on {@code stream}, so later work there waits
     * behind it: lets a test keep an asynchronous copy queued for a known time.
     */
    public void cudaStreamSleep(long stream, long micros) {
        try {
            check((int) streamSleep.invokeExact(MemorySegment.ofAddress(stream), micros), "cudaLaunchHostFunc");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void check(int rc, String op) {
        if (rc == 0) {
            return;
        }
        String msg = lastError();
        if (rc == LS_ERR_NO_CUDA) {
            throw new UnsupportedOperationException(msg.isEmpty() ? op + ": CUDA is not available" : msg);
        }
        throw new IllegalStateException(msg.isEmpty() ? op + " failed with status " + rc : msg);
    }

    private static Pinner.Mode mode(int code) {
        return switch (code) {
            case 2 -> Pinner.Mode.CUDA;
            case 1 -> Pinner.Mode.MLOCK;
            default -> Pinner.Mode.NONE;
        };
    }

    private static int code(Pinner.Mode mode) {
        return switch (mode) {
            case CUDA -> 2;
            case MLOCK -> 1;
            case NONE -> 0;
        };
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
