package io.lakestream.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.dataset.Sampler;
import ai.djl.translate.Pipeline;
import ai.djl.translate.Transform;
import ai.djl.util.Progress;
import io.lakestream.stream.Lakestream;
import io.lakestream.StreamEnv;
import io.lakestream.format.DType;
import io.lakestream.log.BelowFloorException;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.reader.EndOfStreamException;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutorService;

/**
 * A Lakestream stream as a DJL {@link Dataset} for one rank: {@link #getData} yields one DJL
 * {@link Batch} ({@link LakestreamBatch}) per step, in step order. Its {@code data} are the named
 * tensors (default {@code tokens}), its {@code labels} the label tensors (default: the data
 * tensors themselves, as language modelling wants).
 *
 * <h2>A stream, not a collection</h2>
 * <ul>
 *   <li><b>One position.</b> The dataset has one position, {@link #nextStep()}: the next step it
 *       delivers. It is the whole resumable state; save it with the model's checkpoint and pass it
 *       to {@link Builder#startStep} on restore. Each {@code getData(...).iterator()} continues
 *       from it, so epochs continue the stream: with {@link Builder#steps steps(10)}, epoch 1 is
 *       steps 0–9 and epoch 2 steps 10–19. Iterators are not independent: starting a new
 *       iterator closes the previous one, whose next use throws {@link IllegalStateException}
 *       (two positions in one stream would deliver steps twice).</li>
 *   <li><b>Batch composition is the producer's.</b> Each step is the rank's slice of one global
 *       batch, fixed when it was produced: there is no sampler and no shuffling here
 *       ({@link #getData(NDManager, Sampler)} refuses; {@link Builder#setSampling} only checks
 *       the batch size). A stream's final batch may be smaller.</li>
 *   <li><b>Where an epoch ends.</b> After {@code steps(n)} steps; else at the end of a closed
 *       stream (see {@code lakestream close}), at once; else when no new step is committed within
 *       the timeout. An epoch that would have no step at all is an error
 *       ({@link EndOfStreamException} on a finished stream, {@link ReaderTimeoutException} on an
 *       open one), never an empty epoch, which DJL would report as a NaN loss. A step that is
 *       committed but cannot be fetched in time is an error, never an end:
 *       {@link io.lakestream.reader.PoolExhaustedException} when the consumer holds every pool
 *       slab.</li>
 * </ul>
 *
 * <h2>Memory and lifetime</h2>
 * Arrays are created on the step's pool memory through direct buffers: engines that wrap direct
 * memory, such as PyTorch's on CPU, copy nothing. Closing the DJL batch (as {@code EasyTrain}
 * does after each step) releases the step. Arrays of a closed batch must not be used; to keep
 * one, keep {@code array.duplicate()} (a copy), or build with {@link Builder#optCopyArrays}.
 * A view detached from its batch is caught when the batch closes: its memory stays reserved
 * until the array is garbage and {@link LakestreamBatch#close()} throws. The reader's pool has
 * {@code 2 × prefetch + 2} slabs (prefetch 4: 10); every open batch holds one.
 *
 * <p>Close the dataset when done ({@link #close()}); an iterator releases its reader when it
 * reaches its end, fails, is superseded by a new iterator, or, as a last resort, when it becomes
 * garbage.
 */
public final class LakestreamDataset implements Dataset, AutoCloseable {
    private final ObjectStore store;
    /** The stream's handle: one log follower for every iterator's reader, closed with the dataset (before the store). */
    private final Lakestream stream;
    private final boolean ownsStore;
    private final int rank;
    private final int worldSize;
    private final boolean elastic;
    private final long steps;
    private final long timeoutMillis;
    private final List<String> dataNames;
    private final List<String> labelNames; // null: the data tensors
    private final ReaderOptions options;
    private final Pipeline pipeline;
    private final Pipeline targetPipeline;
    private final Device device;
    private final boolean copyArrays;
    private final int batchSize;
    private final ManifestLog log; // read-only: validation and size()
    private final Object lock = new Object();
    private ReaderSlot current; // guarded by lock
    private boolean closed; // guarded by lock
    private volatile long nextStep;
    /** Test hook: sees each step's batch as it is wrapped (to prove the arrays alias it). */
    static volatile java.util.function.Consumer<StepBatch> onStep;

    private LakestreamDataset(Builder b, ManifestLog log) {
        this.store = b.store;
        this.stream = Lakestream.open(b.store, StreamEnv.defaults());
        this.ownsStore = b.ownsStore;
        this.rank = b.rank;
        this.worldSize = b.worldSize;
        this.elastic = b.elastic;
        this.nextStep = b.startStep;
        this.steps = b.steps;
        this.timeoutMillis = b.timeoutMillis;
        this.dataNames = List.copyOf(b.dataNames);
        this.labelNames = b.labelNames == null ? null : List.copyOf(b.labelNames);
        this.options = b.options;
        this.pipeline = b.pipeline;
        this.targetPipeline = b.targetPipeline;
        this.device = b.device;
        this.copyArrays = b.copyArrays;
        this.batchSize = b.batchSize;
        this.log = log;
    }

    /** A dataset over {@code store}, which the caller keeps open while the dataset is used. */
    public static Builder builder(ObjectStore store, int rank, int worldSize) {
        return new Builder(store, false, rank, worldSize);
    }

    /**
     * A dataset over the stream at {@code streamUri}, opened without creating anything (a
     * mistyped path is an error naming it) and closed with the dataset.
     */
    public static Builder builder(String streamUri, int rank, int worldSize) {
        return new Builder(ObjectStores.open(streamUri, false), true, rank, worldSize);
    }

    /** The next step {@link #getData} delivers: the dataset's whole resumable state. */
    public long nextStep() {
        return nextStep;
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /** The step the stream ended at if it was closed (as of now), else -1. */
    public long endStep() {
        return refreshed().endStep();
    }

    /**
     * Samples this rank receives in the next epoch (DJL's unit, as {@code RandomAccessDataset.size()}):
     * steps {@code [nextStep, end)} where the end is {@code nextStep + steps} and/or the end of a
     * closed stream, when every one of those steps is committed; -1 when that is not known yet
     * (an open stream without {@code steps(n)}, or steps still to be produced). Reads the step
     * index of the range (one small object per 1,024 steps at most).
     */
    public long size() {
        return samplesFrom(nextStep);
    }

    private long samplesFrom(long from) {
        ManifestState s = refreshed();
        long end = Long.MAX_VALUE;
        if (steps >= 0) {
            end = from + steps;
        }
        if (s.ended()) {
            end = Math.min(end, s.endStep());
        }
        if (end == Long.MAX_VALUE || end > s.committedSteps()) {
            return -1;
        }
        long n = 0;
        for (long step = from; step < end; step++) {
            n += rankSamples(log.entry(step), rank, worldSize, elastic);
        }
        return n;
    }

    private ManifestState refreshed() {
        synchronized (log) {
            return log.refresh();
        }
    }

    /** Nothing to prepare: the data is in the store, and {@link Builder#build()} already checked the stream. */
    @Override
    public void prepare(Progress progress) {}

    /**
     * Steps from {@link #nextStep()} on (see the class comment for where an epoch ends). Each
     * call of {@code iterator()} on the result starts a new iterator at the dataset's position
     * and closes the previous one.
     *
     * @throws IllegalStateException if the dataset is closed
     */
    @Override
    public Iterable<Batch> getData(NDManager manager) {
        synchronized (lock) {
            checkOpen();
        }
        return () -> newIterator(manager);
    }

    /**
     * As {@link #getData(NDManager)}: {@code executorService} is not used, because fetching,
     * checksumming and decoding already run {@code prefetch} steps ahead on the reader's threads.
     * ({@code Trainer.iterateDataset} calls this.)
     */
    @Override
    public Iterable<Batch> getData(NDManager manager, ExecutorService executorService) {
        return getData(manager);
    }

    /**
     * Refused: a stream is read in commit order and each step is the rank's slice of a global
     * batch fixed by its producer, so there is nothing to sample. Shuffle when producing.
     *
     * @throws UnsupportedOperationException always
     */
    public Iterable<Batch> getData(NDManager manager, Sampler sampler) {
        throw new UnsupportedOperationException("a Lakestream stream is read in step order and each step is the global batch "
                + "its producer committed: samplers do not apply (shuffle and size batches when producing); use getData(manager)");
    }

    /** Closes the current iterator's reader, the stream's handle (and the store, if the dataset opened it). Idempotent. */
    @Override
    public void close() {
        ReaderSlot slot;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            slot = current;
            current = null;
        }
        try {
            if (slot != null) {
                slot.close("the dataset was closed");
            }
            stream.close();
        } finally {
            if (ownsStore) {
                store.close();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("LakestreamDataset over " + store.describe() + " (rank " + rank + ") is closed");
        }
    }

    private Iterator<Batch> newIterator(NDManager manager) {
        ReaderSlot previous;
        StepIterator it;
        synchronized (lock) {
            checkOpen();
            previous = current;
            current = new ReaderSlot();
            it = new StepIterator(manager, current);
        }
        if (previous != null) {
            previous.close("a newer iterator of this dataset was started, and this one was closed: the dataset has one "
                    + "position, so two live iterators would deliver the same steps twice");
        }
        return it;
    }

    /**
     * The samples {@code rank} gets of a step: its shard's, or, read elastically, its contiguous
     * share of the step's samples (the first {@code n mod worldSize} ranks get one more).
     */
    private static long rankSamples(io.lakestream.log.TgbEntry e, int rank, int worldSize, boolean elastic) {
        if (!elastic) {
            return e.shards().get(rank).samples();
        }
        long n = e.samples();
        return n / worldSize + (rank < n % worldSize ? 1 : 0);
    }

    private final class StepIterator implements Iterator<Batch> {
        private final NDManager manager;
        private final ReaderSlot slot;
        private final Cleaner.Cleanable cleanable;
        private long delivered;
        private long progress;
        private long total = Long.MIN_VALUE; // computed with the first batch
        private RuntimeException failure;
        private boolean done;

        StepIterator(NDManager manager, ReaderSlot slot) {
            this.manager = manager;
            this.slot = slot;
            // Last resort for an iterator left early (break, an exception in the loop): its
            // reader's threads and slabs go when the iterator becomes garbage.
            this.cleanable = StepArrays.CLEANER.register(this, slot);
        }

        @Override
        public boolean hasNext() {
            if (failure != null) {
                throw new IllegalStateException("this iterator stopped at step " + nextStep + " after an error (start a new "
                        + "iterator to retry that step): " + failure.getMessage(), failure);
            }
            if (done) {
                return false;
            }
            checkSlot();
            if (slot.hasPending()) {
                return true;
            }
            if (steps >= 0 && delivered >= steps) {
                return finish();
            }
            try {
                RankReader r = slot.reader(() -> elastic ? stream.elasticReader(rank, worldSize, nextStep, options)
                        : stream.reader(rank, worldSize, nextStep, options));
                StepBatch b = r.next(timeoutMillis);
                if (!slot.hold(b)) {
                    b.close();
                    slot.checkOpen();
                }
                return true;
            } catch (EndOfStreamException e) {
                if (delivered == 0) {
                    // An epoch with no step would end "normally" and DJL would report its loss as NaN.
                    throw fail(new EndOfStreamException(e.stream(), e.endStep(), nextStep, "this epoch has no step: the "
                            + "previous one read the stream to its end (stop training at the end; ds.endStep() and "
                            + "ds.size() say where it is)"));
                }
                return finish();
            } catch (ReaderTimeoutException e) {
                if (steps < 0 && !e.committed() && delivered > 0) {
                    return finish(); // no new step within the timeout: this epoch ends
                }
                throw fail(e); // an epoch with no step at all is an error, never an empty epoch
            } catch (RuntimeException e) {
                if (slot.isClosed()) {
                    checkSlot(); // closed under us: say why, not what the closing broke
                }
                throw fail(e);
            }
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("no more steps in this epoch (next step " + nextStep + ")");
            }
            StepBatch b = slot.take();
            try {
                Batch batch = wrap(b);
                nextStep = b.step() + 1;
                delivered++;
                return batch;
            } catch (RuntimeException e) {
                b.close();
                throw fail(e); // the step stays the next one: a new iterator retries it, never skips it
            }
        }

        /** The slot's closing reason, with the dataset's position now (not when the slot was closed). */
        private void checkSlot() {
            try {
                slot.checkOpen();
            } catch (IllegalStateException e) {
                throw new IllegalStateException(e.getMessage() + " (the dataset is now at step " + nextStep + ")");
            }
        }

        private boolean finish() {
            done = true;
            slot.close("this iterator has ended");
            cleanable.clean(); // deregisters; the slot is already closed
            return false;
        }

        private RuntimeException fail(RuntimeException e) {
            failure = e;
            finish();
            return e;
        }

        private Batch wrap(StepBatch b) {
            if (batchSize > 0 && delivered == 0 && b.samples() != batchSize) {
                throw new IllegalArgumentException(sizeMismatch(batchSize, b.step(), rank, b.samples()));
            }
            NDManager sub = manager.newSubManager();
            StepArrays owner = new StepArrays(b);
            owner.attachTo(sub);
            try {
                NDList data = arrays(sub, b, dataNames, owner, store);
                NDList labels = labelNames == null ? new NDList(data) : arrays(sub, b, labelNames, owner, store);
                if (copyArrays) {
                    data = copies(data);
                    labels = labelNames == null ? new NDList(data) : copies(labels);
                    owner.releaseNow();
                }
                if (onStep != null) {
                    onStep.accept(b);
                }
                if (pipeline != null) {
                    data = pipeline.transform(data);
                }
                if (targetPipeline != null) {
                    labels = targetPipeline.transform(labels);
                }
                if (device != null) {
                    data = data.toDevice(device, false);
                    labels = labels.toDevice(device, false);
                }
                int size = Math.toIntExact(b.samples());
                if (total == Long.MIN_VALUE) {
                    long known = samplesFrom(b.step());
                    // Unknown ahead: estimate from this batch (the producer fixes the size; a final batch may be smaller).
                    total = known >= 0 ? known : steps >= 0 ? steps * size : -1;
                }
                progress += size;
                List<SampleIndex> indices = new ArrayList<>(size);
                for (int i = 0; i < size; i++) {
                    indices.add(new SampleIndex(b.step(), b.firstSample() + i));
                }
                return new LakestreamBatch(sub, data, labels, size, progress, total, indices, owner);
            } catch (RuntimeException e) {
                sub.close();
                throw e;
            }
        }
    }

    private static String sizeMismatch(int batchSize, long step, int rank, long samples) {
        return "setSampling(" + batchSize + ", false) does not match the stream: step " + step + " gives rank " + rank + " "
                + samples + " samples (the producer fixes each step's batch: samples per rank = global batch / world size)";
    }

    private static NDList arrays(NDManager m, StepBatch b, List<String> names, StepArrays owner, ObjectStore store) {
        NDList list = new NDList(names.size());
        for (String name : names) {
            Tensor t = tensor(b, name, store);
            NDArray a = m.create(t.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN), new Shape(t.shape()), dataType(t.dtype()));
            a.setName(name);
            owner.watch(a);
            list.add(a);
        }
        return list;
    }

    /** The named tensor of {@code b}; an error naming the stream, step, rank and the tensors it has otherwise. */
    static Tensor tensor(StepBatch b, String name, ObjectStore store) {
        List<String> has = new ArrayList<>();
        for (Tensor t : b.tensors()) {
            if (t.name().equals(name)) {
                return t;
            }
            has.add(t.name());
        }
        throw new IllegalArgumentException("stream " + store.describe() + " has no tensor '" + name + "' at step " + b.step()
                + " (rank " + b.rank() + "; it has " + has + "): check the names given to data(...) and labels(...)");
    }

    private static NDList copies(NDList views) {
        NDList out = new NDList(views.size());
        for (NDArray a : views) {
            out.add(a.duplicate());
        }
        for (NDArray a : views) {
            a.close();
        }
        return out;
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

    /** Configures a {@link LakestreamDataset}; {@link #build()} checks it against the stream. */
    public static final class Builder {
        private final ObjectStore store;
        private final boolean ownsStore;
        private final int rank;
        private final int worldSize;
        private long startStep;
        private long steps = -1;
        private long timeoutMillis = 30_000;
        private List<String> dataNames = List.of("tokens");
        private List<String> labelNames; // null: the data tensors
        private ReaderOptions options = ReaderOptions.defaults();
        private Pipeline pipeline;
        private Pipeline targetPipeline;
        private Device device;
        private boolean copyArrays;
        private int batchSize = -1;
        private boolean elastic;

        private Builder(ObjectStore store, boolean ownsStore, int rank, int worldSize) {
            this.store = store;
            this.ownsStore = ownsStore;
            this.rank = rank;
            this.worldSize = worldSize;
        }

        /** The first step (default 0): on restore, the {@link LakestreamDataset#nextStep()} saved with the checkpoint. */
        public Builder startStep(long s) {
            this.startStep = s;
            return this;
        }

        /**
         * Steps per epoch (each waited for up to the timeout); default: to the end of a closed
         * stream, or until no new step arrives within the timeout.
         */
        public Builder steps(long n) {
            this.steps = n;
            return this;
        }

        /** How long to wait for a step that is not committed yet (default 30 s). */
        public Builder timeoutMillis(long ms) {
            this.timeoutMillis = ms;
            return this;
        }

        /** The tensors that form each batch's data (default {@code tokens}). */
        public Builder data(String... names) {
            this.dataNames = List.of(names);
            return this;
        }

        /**
         * The tensors that form each batch's labels. Default: the data tensors (the same arrays:
         * language modelling; the loss shifts them). At least one name: {@link #build()} refuses
         * {@code labels()} with none, since DJL's losses read {@code labels.get(0)}.
         */
        public Builder labels(String... names) {
            this.labelNames = List.of(names);
            return this;
        }

        /** Reader tuning; its {@code prefetch} sets the pool: {@code 2 × prefetch + 2} slabs, one per open batch. */
        public Builder readerOptions(ReaderOptions o) {
            this.options = o;
            return this;
        }

        /** Transforms applied to each batch's data, as DJL datasets' {@code optPipeline}. */
        public Builder optPipeline(Pipeline p) {
            this.pipeline = p;
            return this;
        }

        /** Adds a transform of the data (to array 0 of the data list, as DJL's {@code Pipeline.add}). */
        public Builder addTransform(Transform t) {
            if (pipeline == null) {
                pipeline = new Pipeline();
            }
            pipeline.add(t);
            return this;
        }

        /** Transforms applied to each batch's labels, as DJL datasets' {@code optTargetPipeline}. */
        public Builder optTargetPipeline(Pipeline p) {
            this.targetPipeline = p;
            return this;
        }

        /** Adds a transform of the labels (array 0 of the label list). */
        public Builder addTargetTransform(Transform t) {
            if (targetPipeline == null) {
                targetPipeline = new Pipeline();
            }
            targetPipeline.add(t);
            return this;
        }

        /** Moves each batch to {@code d} (a copy when it is another device), after the pipelines. */
        public Builder optDevice(Device d) {
            this.device = d;
            return this;
        }

        /**
         * Copy each step's arrays out of pool memory (default false: zero copy). Costs one copy
         * per step; the step's slab goes back to the pool at once, and arrays may be kept,
         * detached, for as long as wanted.
         */
        public Builder optCopyArrays(boolean copy) {
            this.copyArrays = copy;
            return this;
        }

        /**
         * For code written against DJL's {@code RandomAccessDataset.BaseBuilder}: the batch is the
         * producer's, so this only checks it. {@code batchSize} must equal the samples each step
         * gives this rank (checked by {@link #build()} when the start step is committed, else on
         * the first batch); {@code shuffle} must be false.
         */
        public Builder setSampling(int batchSize, boolean shuffle) {
            if (shuffle) {
                throw new IllegalArgumentException("a Lakestream stream cannot be shuffled when read: every rank and restart must see "
                        + "step s as the same bytes; shuffle records when producing");
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Checks the settings against the stream and builds the dataset.
         *
         * @throws IllegalArgumentException  for a bad rank, world size, step count, timeout or
         *                                   tensor list, a missing stream, a start step beyond
         *                                   the end of a closed stream, or a batch size that does
         *                                   not match the stream
         * @throws io.lakestream.log.WorldSizeMismatchException if the stream has another world size
         * @throws BelowFloorException       if the start step was already reclaimed by retention
         */
        /**
         * Read a stream written for another world size: each step's samples are split into
         * {@code worldSize} contiguous ranges ({@link RankReader#openElastic}). Default: refuse it.
         */
        public Builder elastic(boolean e) {
            this.elastic = e;
            return this;
        }

        public LakestreamDataset build() {
            try {
                return new LakestreamDataset(this, validated());
            } catch (RuntimeException e) {
                if (ownsStore) {
                    store.close();
                }
                throw e;
            }
        }

        private ManifestLog validated() {
            if (worldSize < 1) {
                throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
            }
            if (rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is outside world size " + worldSize + " (ranks are 0.."
                        + (worldSize - 1) + ")");
            }
            if (startStep < 0) {
                throw new IllegalArgumentException("start step must be >= 0, got " + startStep);
            }
            if (steps < -1 || steps == 0) {
                throw new IllegalArgumentException("steps must be >= 1 (or -1: to the end), got " + steps);
            }
            if (timeoutMillis < 1) {
                throw new IllegalArgumentException("timeout must be >= 1 ms, got " + timeoutMillis);
            }
            checkNames("data", dataNames);
            if (labelNames != null) {
                checkNames("labels", labelNames);
            }
            checkDevice(device);
            // Elastic: any written world size; the samples of each step are split over ours.
            ManifestLog log = elastic ? ManifestLog.open(store, true) : ManifestLog.open(store, worldSize, true);
            ManifestState s = log.state();
            long floor = Math.max(s.floorStep(), s.reclaimedBelowStep());
            if (startStep < floor) {
                throw new BelowFloorException(store.describe(), startStep, floor);
            }
            if (s.ended() && startStep > s.endStep()) {
                throw new IllegalArgumentException("start step " + startStep + " lies beyond the end of " + store.describe()
                        + ": the stream was closed at step " + s.endStep());
            }
            if (batchSize > 0 && startStep < s.committedSteps()) {
                long samples = rankSamples(log.entry(startStep), rank, worldSize, elastic);
                if (samples != batchSize) {
                    throw new IllegalArgumentException(sizeMismatch(batchSize, startStep, rank, samples));
                }
            }
            if (startStep < s.committedSteps()) {
                checkTensorsAt(startStep);
            }
            return log;
        }

        /**
         * Reads this rank's shard of {@code step} (one ranged read) to check that every named
         * tensor is in it, so a mistyped name fails here and not at the first batch. Tensor names
         * are in the batch objects, not in the log; a step not committed yet is checked when it
         * arrives.
         */
        private void checkTensorsAt(long step) {
            ReaderOptions one = options.withPrefetch(1);
            try (RankReader r = elastic ? RankReader.openElastic(store, rank, worldSize, step, one)
                    : RankReader.open(store, rank, worldSize, step, one);
                 StepBatch b = r.next(timeoutMillis)) {
                for (String name : dataNames) {
                    tensor(b, name, store);
                }
                if (labelNames != null) {
                    for (String name : labelNames) {
                        tensor(b, name, store);
                    }
                }
            }
        }

        /**
         * A GPU the engine does not have fails here, not with the engine's error at the first
         * batch. Checked against DJL's default engine, the one {@code Model.newInstance} and
         * {@code NDManager.newBaseManager()} use.
         */
        private static void checkDevice(Device d) {
            if (d == null || !d.isGpu()) {
                return;
            }
            Engine engine = Engine.getInstance();
            int gpus = engine.getGpuCount();
            if (d.getDeviceId() >= gpus) {
                throw new IllegalArgumentException("optDevice(" + d + "): DJL's " + engine.getEngineName() + " engine sees "
                        + gpus + " GPU" + (gpus == 1 ? "" : "s") + " on this machine" + (gpus == 0 ? "" : " (ids 0.." + (gpus - 1) + ")")
                        + "; use Device.cpu(), or a device id below " + Math.max(gpus, 1));
            }
        }

        private static void checkNames(String what, List<String> names) {
            if (names.isEmpty()) {
                throw new IllegalArgumentException(what + "() needs at least one tensor name" + (what.equals("labels")
                        ? ": a DJL training batch needs labels (the loss reads labels.get(0)); leave labels() out to use the "
                        + "data tensors as labels" : ""));
            }
            for (String n : names) {
                if (n == null || n.isBlank()) {
                    throw new IllegalArgumentException(what + " has an empty tensor name: " + names);
                }
            }
        }
    }
}
