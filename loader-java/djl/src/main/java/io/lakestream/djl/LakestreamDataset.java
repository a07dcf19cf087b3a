package io.lakestream.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.Batchifier;
import ai.djl.util.Progress;
import io.lakestream.format.DType;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.store.ObjectStore;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A Lakestream stream as a DJL {@link Dataset} for one rank: {@link #getData} yields one DJL
 * {@link Batch} per step, its {@code data} the named tensors (default {@code tokens}) and its
 * {@code labels} the label tensors (default none), created on the step's pool memory through
 * direct buffers (engines that wrap direct memory, such as PyTorch's, copy nothing).
 *
 * <p>Lifetime: closing the DJL batch closes its sub-manager, which releases the step's pool
 * memory; arrays of a closed batch must not be used (copy what must outlive the step, e.g. with
 * {@code toDevice}). The whole resumable state is {@link #nextStep()}: save it with the model's
 * checkpoint and pass it to {@link Builder#startStep} on restore.
 */
public final class LakestreamDataset implements Dataset {
    private final ObjectStore store;
    private final int rank;
    private final int worldSize;
    private final long steps;
    private final long timeoutMillis;
    private final List<String> dataNames;
    private final List<String> labelNames;
    private final ReaderOptions options;
    private volatile long nextStep;
    /** Test hook: sees each step's batch as it is wrapped (to prove the arrays alias it). */
    static volatile java.util.function.Consumer<StepBatch> onStep;

    private LakestreamDataset(Builder b) {
        this.store = b.store;
        this.rank = b.rank;
        this.worldSize = b.worldSize;
        this.nextStep = b.startStep;
        this.steps = b.steps;
        this.timeoutMillis = b.timeoutMillis;
        this.dataNames = List.copyOf(b.dataNames);
        this.labelNames = List.copyOf(b.labelNames);
        this.options = b.options;
    }

    public static Builder builder(ObjectStore store, int rank, int worldSize) {
        return new Builder(store, rank, worldSize);
    }

    /** The next step {@link #getData} will start from. */
    public long nextStep() {
        return nextStep;
    }

    /** Nothing to prepare: the data is already in the store. */
    @Override
    public void prepare(Progress progress) {}

    /**
     * Steps from {@link #nextStep()} on: {@code steps} of them, or (with no step count) until no
     * new step is committed within the timeout.
     */
    @Override
    public Iterable<Batch> getData(NDManager manager) {
        return () -> new StepIterator(manager);
    }

    private final class StepIterator implements Iterator<Batch> {
        private final NDManager manager;
        private final long first = nextStep;
        private RankReader reader;
        private StepBatch pending;
        private boolean done;

        StepIterator(NDManager manager) {
            this.manager = manager;
        }

        @Override
        public boolean hasNext() {
            if (pending != null) {
                return true;
            }
            if (done || (steps >= 0 && nextStep - first >= steps)) {
                finish();
                return false;
            }
            if (reader == null) {
                reader = RankReader.open(store, rank, worldSize, nextStep, options);
            }
            try {
                pending = reader.next(timeoutMillis);
                return true;
            } catch (ReaderTimeoutException e) {
                if (steps >= 0) {
                    finish();
                    throw e;
                }
                finish();
                return false;
            }
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("no more steps");
            }
            StepBatch b = pending;
            pending = null;
            NDManager sub = manager.newSubManager();
            try {
                NDList data = arrays(sub, b, dataNames);
                NDList labels = arrays(sub, b, labelNames);
                sub.attachInternal("lakestream-step-" + b.step() + "-rank-" + rank, b);
                if (onStep != null) {
                    onStep.accept(b);
                }
                nextStep = b.step() + 1;
                // indices: the step number, so a training loop can log or checkpoint by step
                return new Batch(sub, data, labels, (int) b.samples(), Batchifier.STACK, Batchifier.STACK, b.step() - first + 1,
                        steps >= 0 ? steps : -1, List.of(b.step()));
            } catch (RuntimeException e) {
                sub.close();
                b.close();
                throw e;
            }
        }

        private void finish() {
            done = true;
            if (reader != null) {
                reader.close();
                reader = null;
            }
        }
    }

    private static NDList arrays(NDManager m, StepBatch b, List<String> names) {
        NDList list = new NDList(names.size());
        for (String name : names) {
            Tensor t = b.tensor(name);
            NDArray a = m.create(t.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN), new Shape(t.shape()), dataType(t.dtype()));
            a.setName(name);
            list.add(a);
        }
        return list;
    }

    static DataType dataType(DType d) {
        return switch (d) {
            case F64 -> DataType.FLOAT64;
            case F32 -> DataType.FLOAT32;
            case F16 -> DataType.FLOAT16;
            case BF16 -> DataType.BFLOAT16;
            case I64 -> DataType.INT64;
            case I32 -> DataType.INT32;
            case I16 -> DataType.INT16;
            case I8 -> DataType.INT8;
            case U16 -> DataType.UINT16;
            case U8 -> DataType.UINT8;
            case BOOL -> DataType.BOOLEAN;
        };
    }

    /** Configures a {@link LakestreamDataset}. */
    public static final class Builder {
        private final ObjectStore store;
        private final int rank;
        private final int worldSize;
        private long startStep;
        private long steps = -1;
        private long timeoutMillis = 30_000;
        private List<String> dataNames = List.of("tokens");
        private List<String> labelNames = List.of();
        private ReaderOptions options = ReaderOptions.defaults();

        private Builder(ObjectStore store, int rank, int worldSize) {
            this.store = store;
            this.rank = rank;
            this.worldSize = worldSize;
        }

        public Builder startStep(long s) {
            this.startStep = s;
            return this;
        }

        /** Yield exactly this many steps (waiting up to the timeout for each); default: until idle. */
        public Builder steps(long n) {
            this.steps = n;
            return this;
        }

        public Builder timeoutMillis(long ms) {
            this.timeoutMillis = ms;
            return this;
        }

        public Builder data(String... names) {
            this.dataNames = List.of(names);
            return this;
        }

        public Builder labels(String... names) {
            this.labelNames = List.of(names);
            return this;
        }

        public Builder readerOptions(ReaderOptions o) {
            this.options = o;
            return this;
        }

        public LakestreamDataset build() {
            return new LakestreamDataset(this);
        }
    }
}
