package io.lakestream.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.translate.Batchifier;
import java.util.List;

/**
 * One step of a {@link LakestreamDataset} as a DJL {@link Batch}. Its arrays view the step's
 * pool memory (no copy) unless the dataset copies them; {@link #close()} releases the step.
 *
 * <p>{@link #getIndices()} holds one {@link SampleIndex} per sample; {@link #getProgress()} and
 * {@link #getProgressTotal()} count samples, as DJL's own datasets do.
 */
public final class LakestreamBatch extends Batch {
    private final StepArrays owner;
    private final long step;

    LakestreamBatch(NDManager manager, NDList data, NDList labels, int size, long progress, long progressTotal,
                    List<SampleIndex> indices, StepArrays owner) {
        super(manager, data, labels, size, Batchifier.STACK, Batchifier.STACK, progress, progressTotal, indices);
        this.owner = owner;
        this.step = owner.step();
    }

    /** The stream step this batch holds. */
    public long step() {
        return step;
    }

    /**
     * Closes the batch's manager, which releases the step's pool memory.
     *
     * @throws IllegalStateException if an array viewing the step's memory was detached from the
     *                               batch and is still open: it would read a later step's bytes.
     *                               The batch is closed anyway and that memory stays reserved
     *                               until the array is garbage; copy it with {@code duplicate()}
     *                               (or use {@code optCopyArrays(true)}) instead
     */
    @Override
    public void close() {
        List<NDArray> kept = owner.kept();
        if (!kept.isEmpty()) {
            owner.reportedByCaller();
        }
        super.close();
        if (!kept.isEmpty()) {
            throw new IllegalStateException(StepArrays.names(kept) + " of step " + step + " (rank " + owner.rank() + ") "
                    + (kept.size() == 1 ? "was" : "were") + " detached from the batch but still view its pool memory, which the reader "
                    + "would reuse for a later step. The memory stays reserved until " + (kept.size() == 1 ? "it is" : "they are")
                    + " garbage; keep a copy instead (array.duplicate(), or build the dataset with optCopyArrays(true))");
        }
    }
}
