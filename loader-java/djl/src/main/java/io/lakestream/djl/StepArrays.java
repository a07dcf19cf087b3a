package io.lakestream.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lakestream.reader.StepBatch;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Owns one step's pool memory under a DJL batch: attached to the batch's sub-manager, it
 * releases the step when the batch (or any manager above it) is closed.
 *
 * <p>The arrays it watches are views of the step's slab. If one of them was detached from the
 * batch (or attached to another manager) and is still open when the batch closes, handing the
 * slab back would let it read the next step's bytes, or freed memory once the reader is closed.
 * So the slab is then kept until every such array is garbage (a {@link Cleaner} releases it),
 * and {@link LakestreamBatch#close()} reports the mistake.
 */
final class StepArrays implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StepArrays.class.getName());
    static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "lakestream-djl-cleaner");
        t.setDaemon(true);
        return t;
    });

    private final StepBatch batch;
    private final List<NDArray> views = new ArrayList<>();
    private NDManager manager;
    private boolean released;
    private boolean reportedByCaller;

    StepArrays(StepBatch batch) {
        this.batch = batch;
    }

    long step() {
        return batch.step();
    }

    int rank() {
        return batch.rank();
    }

    /** Attaches this owner to {@code m}, the batch's sub-manager. */
    void attachTo(NDManager m) {
        this.manager = m;
        m.attachInternal("lakestream-step-" + batch.step() + "-rank-" + batch.rank() + "-" + System.identityHashCode(this), this);
    }

    /** An array created on the step's memory. */
    void watch(NDArray a) {
        for (NDArray v : views) {
            if (v == a) {
                return;
            }
        }
        views.add(a);
    }

    /** The watched arrays that outlive the batch: open and no longer owned by its manager. */
    synchronized List<NDArray> kept() {
        List<NDArray> out = new ArrayList<>();
        if (released) {
            return out;
        }
        for (NDArray a : views) {
            // Arrays on another device are copies (an engine copies to reach a GPU): no alias.
            if (!a.isReleased() && !ownedByBatch(a.getManager()) && Device.Type.CPU.equals(a.getDevice().getDeviceType())) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * Whether {@code m} is the batch's manager or a manager under it. DJL's {@code Batch.split}
     * (called by {@code EasyTrain.trainBatch}) moves arrays a device move leaves as they are to a
     * sub-manager of the batch's manager: that is not a detach, since closing the batch closes it.
     */
    private boolean ownedByBatch(NDManager m) {
        for (NDManager x = m; x != null; x = x.getParentManager()) {
            if (x == manager) {
                return true;
            }
        }
        return false;
    }

    /** The caller reports the kept arrays itself (by throwing): no warning in the log. */
    synchronized void reportedByCaller() {
        reportedByCaller = true;
    }

    /** Releases the step now (its arrays were copied and the views closed). */
    synchronized void releaseNow() {
        if (!released) {
            released = true;
            batch.close();
        }
    }

    @Override
    public synchronized void close() {
        if (released) {
            return;
        }
        List<NDArray> kept = kept();
        released = true;
        if (kept.isEmpty()) {
            batch.close();
            return;
        }
        // Keep the slab out of the pool until the last kept view is unreachable.
        AtomicInteger left = new AtomicInteger(kept.size());
        StepBatch b = batch;
        Runnable release = () -> {
            if (left.decrementAndGet() == 0) {
                b.close();
            }
        };
        for (NDArray a : kept) {
            CLEANER.register(a, release);
        }
        if (reportedByCaller) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, () -> names(kept) + " of step " + b.step() + " (rank " + b.rank() + ") outlived their batch "
                + "while viewing its pool memory; the slab stays reserved until they are garbage (copy with duplicate(), or "
                + "build the dataset with optCopyArrays(true))");
    }

    static String names(List<NDArray> arrays) {
        List<String> n = new ArrayList<>(arrays.size());
        for (NDArray a : arrays) {
            n.add("'" + a.getName() + "'");
        }
        return "array" + (n.size() == 1 ? " " : "s ") + String.join(", ", n);
    }
}
