package io.lakestream.reader;

import io.lakestream.LakestreamException;

import java.util.List;

/**
 * A committed step cannot be fetched because every slab of the reader's pool is in use, held by
 * batches the consumer received and has not closed. The reader stays usable: close (or copy and
 * close) the held batches and ask again.
 */
public final class PoolExhaustedException extends LakestreamException {
    private final long step;
    private final List<Long> heldSteps;

    public PoolExhaustedException(String stream, int rank, long step, int slabs, List<Long> heldSteps, long waitedMillis) {
        super(message(stream, rank, step, slabs, heldSteps, waitedMillis), stream);
        this.step = step;
        this.heldSteps = List.copyOf(heldSteps);
    }

    private static String message(String stream, int rank, long step, int slabs, List<Long> held, long waitedMillis) {
        String head = "step " + step + " of " + stream + " (rank " + rank + ") is committed but could not be fetched within "
                + waitedMillis + " ms: all " + slabs + " slabs of the reader's pool are in use";
        if (held.isEmpty()) {
            return head + ", none of them by batches this reader delivered (is the pool shared with other readers?)";
        }
        return head + ", " + held.size() + " of them by batches the consumer has not closed (steps " + steps(held) + "). "
                + "Close every batch when done with it (StepBatch.close(); DJL: Batch.close(); Python: drop every tensor of "
                + "the step) and copy what must outlive it; the pool has room for about prefetch held batches";
    }

    private static String steps(List<Long> held) {
        if (held.size() <= 12) {
            return held.toString().substring(1, held.toString().length() - 1);
        }
        return held.subList(0, 6).toString().replaceAll("[\\[\\]]", "") + ", ... , "
                + held.subList(held.size() - 3, held.size()).toString().replaceAll("[\\[\\]]", "");
    }

    /** The step that could not be fetched. */
    public long step() {
        return step;
    }

    /** Steps delivered to the consumer and not closed, in order. */
    public List<Long> heldSteps() {
        return heldSteps;
    }
}
