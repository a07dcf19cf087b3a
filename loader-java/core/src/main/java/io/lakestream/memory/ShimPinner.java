package io.lakestream.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pins slabs through {@link NativeShims}: CUDA host registration when a CUDA runtime and device
 * are present, else {@code mlock}, else nothing. The first slab that stays unpinned logs one
 * warning with the reason (later ones are silent: a pool of 40 slabs must not log 40 times);
 * the batch still works, frameworks just cannot DMA from it.
 */
public final class ShimPinner implements Pinner {
    private static final System.Logger LOG = System.getLogger(ShimPinner.class.getName());

    private final NativeShims shims;
    private final AtomicBoolean warnedUnpinned = new AtomicBoolean();
    private final AtomicBoolean warnedDegraded = new AtomicBoolean();

    public ShimPinner(NativeShims shims) {
        this.shims = Objects.requireNonNull(shims, "shims");
    }

    public NativeShims shims() {
        return shims;
    }

    /** The mode slabs get when nothing fails, and why ({@link NativeShims#modeReason()}). */
    public Pinner.Mode preferredMode() {
        return shims.preferredMode();
    }

    @Override
    public Mode pin(MemorySegment slab) {
        Mode got = shims.pin(slab);
        if (got == Mode.NONE) {
            String why = shims.lastError(); // same thread, right after the call: see NativeShims
            if (warnedUnpinned.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "Lakestream pool slabs are NOT pinned ({0}); batches work, but GPU "
                        + "copies from them cannot use DMA. Further unpinned slabs are not reported.", why);
            }
        } else if (got != shims.preferredMode() && warnedDegraded.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.INFO, "Lakestream pool slab pinned with {0} instead of {1}: {2}", got,
                    shims.preferredMode(), shims.lastError());
        }
        return got;
    }

    @Override
    public void unpin(MemorySegment slab, Mode mode) {
        // Called while freeing: the slab goes away either way, so a refusal is logged, not thrown.
        if (!shims.unpin(slab, mode)) {
            LOG.log(System.Logger.Level.WARNING, "Lakestream could not unpin a {0} slab: {1}", mode, shims.lastError());
        }
    }

    @Override
    public String toString() {
        return "ShimPinner[" + shims.preferredMode() + ": " + shims.modeReason() + "]";
    }
}
