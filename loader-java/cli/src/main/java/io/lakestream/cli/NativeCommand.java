package io.lakestream.cli;

import io.lakestream.memory.NativeShims;
import io.lakestream.memory.Pinner;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "native", description = {
        "Report the native shim: whether it loaded, the pin mode pool slabs get and why.",
        "With --check, pin a pool slab and, when CUDA is present, copy it to the GPU",
        "asynchronously and back, and verify the bytes."})
final class NativeCommand implements Callable<Integer> {
    @Option(names = "--check", description = "pin a slab (and round-trip it through the GPU when CUDA is present)")
    boolean check;

    @Option(names = "--mib", defaultValue = "64", description = "slab size for --check, MiB")
    int mib;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        var shims = NativeShims.get();
        if (shims.isEmpty()) {
            out.println("shim: unavailable (" + NativeShims.unavailableReason() + ")");
        } else {
            NativeShims s = shims.get();
            out.println("shim: loaded from " + s.source() + " (version " + s.version() + ")");
            out.println("cuda: " + (s.cudaAvailable() ? "available" : "absent"));
        }
        out.println("pin mode: " + Pinners.describe());
        if (!check) {
            return 0;
        }
        long bytes = (long) mib << 20;
        try (PinnedPool pool = new PinnedPool(bytes, 1, Pinners.defaultPinner());
             PinnedPool.Lease lease = pool.acquire(bytes, 10_000)) {
            MemorySegment slab = lease.segment();
            for (long i = 0; i < bytes; i += 8) {
                slab.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
            }
            out.println("slab: " + mib + " MiB, pin mode " + lease.pinMode());
            if (shims.isEmpty() || !shims.get().cudaAvailable()) {
                out.println("gpu copy: skipped (no CUDA)");
                return 0;
            }
            NativeShims s = shims.get();
            long stream = s.cudaStreamCreate();
            long dev = s.cudaMalloc(bytes);
            try (Arena arena = Arena.ofConfined()) {
                s.copyToDeviceAsync(dev, slab, stream); // warm-up: first copy pays context set-up
                s.cudaStreamSynchronize(stream);
                long t0 = System.nanoTime();
                s.copyToDeviceAsync(dev, slab, stream);
                long queued = System.nanoTime();
                s.cudaStreamSynchronize(stream);
                long t1 = System.nanoTime();
                MemorySegment back = arena.allocate(bytes, 4096);
                s.copyToHost(back, dev);
                boolean same = slab.mismatch(back) == -1;
                out.printf("gpu copy: cudaMemcpyAsync H2D of %d MiB from a %s slab: queued in %.1f us, done in %.2f ms "
                        + "(%.1f GB/s); read back %s%n", mib, lease.pinMode(), (queued - t0) / 1e3, (t1 - t0) / 1e6,
                        bytes / ((t1 - t0) / 1e9) / 1e9, same ? "identical" : "DIFFERENT");
                return same && lease.pinMode() == Pinner.Mode.CUDA ? 0 : Main.EXIT_ERROR;
            } finally {
                s.cudaFree(dev);
                s.cudaStreamDestroy(stream);
            }
        }
    }
}
