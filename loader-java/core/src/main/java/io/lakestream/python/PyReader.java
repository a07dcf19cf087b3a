package io.lakestream.python;

import io.lakestream.format.DType;
import io.lakestream.log.ManifestState;
import io.lakestream.reader.HandoffFeed;
import io.lakestream.reader.NodeFetch;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.StepBatch;
import io.lakestream.reader.Tensor;
import io.lakestream.store.ObjectStore;
import io.lakestream.stream.Lakestream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link RankReader} shaped for the Python binding: one JPype call per step.
 *
 * <p>{@link #next} takes the next step and writes a packed descriptor of it, every tensor
 * included, into native memory Python reads directly (at {@link #descriptorAddress()}), instead
 * of Python asking for step, rank, each tensor's name, dtype, shape and address one call at a
 * time. The step stays open under a handle until {@link #release} (or {@link #releaseAfter}
 * after asynchronous CUDA copies from it).
 *
 * <p>Descriptor: 64-bit native-order words.
 * <pre>
 *  0 FORMAT   1 handle   2 step   3 rank   4 samples   5 pin mode (0 NONE, 1 MLOCK, 2 CUDA)
 *  6 bytes fetched   7 bytes delivered   8 address of the tensor bytes   9 tensor count T
 * 10 layout id (changes when names, dtypes or shapes change)   11 layout words L
 * 12 .. 12+2T        per tensor: byte offset from word 8's address, byte length
 * 12+2T .. +L        layout: per tensor: dtype ordinal ({@link #dtypeNames()}), ndim, dims…,
 *                    name length in bytes; then the UTF-8 names back to back, padded to 8 bytes
 * </pre>
 * Not thread-safe for concurrent {@link #next} calls (one consumer); {@link #release} may come
 * from any thread (Python finalizers).
 */
public final class PyReader implements AutoCloseable {
    /** Descriptor format version (word 0). */
    public static final long FORMAT = 1;
    private static final int HEADER_WORDS = 12;
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;

    private final RankReader reader;
    private final Map<Long, StepBatch> open = new ConcurrentHashMap<>();
    private Arena arena;
    private MemorySegment descriptor;
    private long handles;
    private long layoutId;
    private List<Tensor> layout; // the tensors whose names/dtypes/shapes layoutId stands for
    private byte[][] layoutNames;

    private PyReader(RankReader reader) {
        this.reader = reader;
        this.arena = Arena.ofShared();
        this.descriptor = arena.allocate(4096, 8);
    }

    /**
     * Opens a reader of {@code rank}'s steps {@code startStep, startStep + stepStride, …}
     * ({@link ReaderOptions#stepStride()}) with a log follower of its own.
     */
    public static PyReader open(ObjectStore store, int rank, int worldSize, long startStep, int prefetch, int stepStride) {
        return new PyReader(RankReader.open(store, rank, worldSize, startStep, options(prefetch, stepStride)));
    }

    /**
     * As above, from {@code stream}'s handle, sharing its follower with the process's other readers
     * of the stream (the Python binding holds one handle per stream URI, see reader.py); {@code elastic}
     * reads a stream written for another world size (see {@link RankReader#openElastic}).
     */
    public static PyReader open(Lakestream stream, int rank, int worldSize, long startStep, int prefetch, int stepStride,
                                boolean elastic) {
        ReaderOptions o = options(prefetch, stepStride);
        return new PyReader(elastic ? stream.elasticReader(rank, worldSize, startStep, o)
                : stream.reader(rank, worldSize, startStep, o));
    }

    /**
     * A reader fed by the job leader's hand-off ({@code feed}, from {@link Lakestream#jobMember})
     * instead of following the log: the Python binding's job follower feeds it the leader's messages.
     */
    public static PyReader openFed(Lakestream stream, int rank, int worldSize, long startStep, int prefetch, int stepStride,
                                   boolean elastic, HandoffFeed feed) {
        return new PyReader(stream.fedReader(rank, worldSize, startStep, options(prefetch, stepStride), null, feed, elastic, null));
    }

    /**
     * A reader that shares one ranged GET per step with the other ranks of its node
     * ({@link NodeFetch}): local rank 0 fetches the node's byte range into a file under
     * {@code dir}, every local rank reads its shard from it in place, CRC32C-checked.
     * {@code feed} null: follows the log with {@code stream}'s follower; otherwise fed by the job's leader.
     */
    public static PyReader openNode(Lakestream stream, int rank, int worldSize, long startStep, int prefetch, HandoffFeed feed,
                                    int localRank, int localWorldSize, String dir, String jobKey, long waitMillis,
                                    boolean fallback) {
        ReaderOptions o = options(prefetch, 1);
        NodeFetch nf = NodeFetch.of(localRank, localWorldSize).withDir(Path.of(dir)).withJobKey(jobKey).withWaitMillis(waitMillis)
                .withFallback(fallback);
        return new PyReader(feed == null ? stream.reader(rank, worldSize, startStep, o, null, nf)
                : stream.fedReader(rank, worldSize, startStep, o, null, feed, false, nf));
    }

    /**
     * Unchecked views: Python gets raw addresses, which no Java scope guards (its safety is the
     * handle kept open until {@link #release}), so a per-batch scope would only cost a handshake
     * with every JVM thread per step.
     */
    private static ReaderOptions options(int prefetch, int stepStride) {
        return ReaderOptions.defaults().withPrefetch(prefetch).withStepStride(stepStride).withCheckedViews(false);
    }

    /** Names of the dtype ordinals used in descriptors. */
    public static String[] dtypeNames() {
        return Arrays.stream(DType.values()).map(Enum::name).toArray(String[]::new);
    }

    /**
     * Takes the next step (waiting up to {@code timeoutMillis}, as {@link RankReader#next}) and
     * writes its descriptor. Returns the descriptor's length in words; negative when the
     * descriptor buffer moved to fit it (read {@link #descriptorAddress()} again).
     */
    public synchronized long next(long timeoutMillis) {
        return describe(reader.next(timeoutMillis));
    }

    /**
     * As {@link #next}, but returns 0 instead of throwing a timeout when no step arrived within
     * {@code waitMillis} ({@link RankReader#poll}). Python waits in such short slices, so that a
     * signal (Ctrl-C, SIGTERM) reaches its handler between two of them instead of after the whole
     * timeout.
     */
    public synchronized long poll(long waitMillis) {
        StepBatch b = reader.poll(waitMillis);
        return b == null ? 0 : describe(b);
    }

    private long describe(StepBatch b) {
        try {
            long handle = ++handles;
            List<Tensor> tensors = b.tensors();
            if (!sameLayout(tensors)) {
                layout = tensors;
                layoutNames = new byte[tensors.size()][];
                for (int i = 0; i < layoutNames.length; i++) {
                    layoutNames[i] = tensors.get(i).name().getBytes(StandardCharsets.UTF_8);
                }
                layoutId++;
            }
            int t = tensors.size();
            long layoutWords = 0;
            long nameBytes = 0;
            for (int i = 0; i < t; i++) {
                layoutWords += 3 + tensors.get(i).shape().length;
                nameBytes += layoutNames[i].length;
            }
            layoutWords += (nameBytes + 7) / 8;
            long words = HEADER_WORDS + 2L * t + layoutWords;
            boolean moved = ensureCapacity(words * 8);
            MemorySegment d = descriptor;
            long base = b.address();
            d.setAtIndex(WORD, 0, FORMAT);
            d.setAtIndex(WORD, 1, handle);
            d.setAtIndex(WORD, 2, b.step());
            d.setAtIndex(WORD, 3, b.rank());
            d.setAtIndex(WORD, 4, b.samples());
            d.setAtIndex(WORD, 5, switch (b.pinMode()) {
                case NONE -> 0;
                case MLOCK -> 1;
                case CUDA -> 2;
            });
            d.setAtIndex(WORD, 6, b.bytesFetched());
            d.setAtIndex(WORD, 7, b.bytesDelivered());
            d.setAtIndex(WORD, 8, base);
            d.setAtIndex(WORD, 9, t);
            d.setAtIndex(WORD, 10, layoutId);
            d.setAtIndex(WORD, 11, layoutWords);
            long w = HEADER_WORDS;
            for (Tensor x : tensors) {
                d.setAtIndex(WORD, w++, x.data().address() - base);
                d.setAtIndex(WORD, w++, x.data().byteSize());
            }
            for (int i = 0; i < t; i++) {
                Tensor x = tensors.get(i);
                d.setAtIndex(WORD, w++, x.dtype().ordinal());
                d.setAtIndex(WORD, w++, x.shape().length);
                for (long dim : x.shape()) {
                    d.setAtIndex(WORD, w++, dim);
                }
                d.setAtIndex(WORD, w++, layoutNames[i].length);
            }
            long at = w * 8;
            for (byte[] name : layoutNames) {
                MemorySegment.copy(name, 0, d, ValueLayout.JAVA_BYTE, at, name.length);
                at += name.length;
            }
            open.put(handle, b);
            return moved ? -words : words;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    private boolean sameLayout(List<Tensor> tensors) {
        if (layout == null || layout.size() != tensors.size()) {
            return false;
        }
        for (int i = 0; i < tensors.size(); i++) {
            Tensor a = layout.get(i);
            Tensor b = tensors.get(i);
            if (a.dtype() != b.dtype() || !a.name().equals(b.name()) || !Arrays.equals(a.shape(), b.shape())) {
                return false;
            }
        }
        return true;
    }

    private boolean ensureCapacity(long bytes) {
        if (descriptor.byteSize() >= bytes) {
            return false;
        }
        Arena old = arena;
        arena = Arena.ofShared();
        descriptor = arena.allocate(Math.max(bytes, 2 * descriptor.byteSize()), 8);
        old.close();
        return true;
    }

    /** Native address of the descriptor {@link #next} writes (valid until {@link #close()} or a move). */
    public synchronized long descriptorAddress() {
        return descriptor.address();
    }

    /** Releases the step under {@code handle}: its slab goes back to the pool. Idempotent. */
    public void release(long handle) {
        StepBatch b = open.remove(handle);
        if (b != null) {
            b.close();
        }
    }

    /**
     * Releases the step under {@code handle} once every copy queued so far on {@code cudaStreams}
     * has run ({@link StepBatch#closeAfterCudaStreams}).
     */
    public void releaseAfter(long handle, long[] cudaStreams) {
        StepBatch b = open.remove(handle);
        if (b != null) {
            b.closeAfterCudaStreams(cudaStreams);
        }
    }

    /** The open step under {@code handle} (diagnostics and tests), or null once released. */
    public StepBatch batch(long handle) {
        return open.get(handle);
    }

    /** Steps delivered and not released yet. */
    public int openSteps() {
        return open.size();
    }

    public long nextStep() {
        return reader.nextStep();
    }

    public long committedSteps() {
        return reader.committedSteps();
    }

    /** Log reads of this reader's follower, its handle's ({@link RankReader#logPolls()}; 0 for a reader fed by the job's leader). */
    public long logPolls() {
        return reader.logPolls();
    }

    /** The log as the reader last saw it (why no step comes: flow control, producers, end). */
    public ManifestState logState() {
        return reader.log().state();
    }

    /** Steps delivered from the node's shared copy ({@link RankReader#nodeServed()}). */
    public long nodeServed() {
        return reader.nodeServed();
    }

    /** Steps read by this rank itself although node fetch is on ({@link RankReader#nodeFallbacks()}). */
    public long nodeFallbacks() {
        return reader.nodeFallbacks();
    }

    /** Batch bytes read from the store so far ({@link RankReader#bytesRead()}). */
    public long bytesRead() {
        return reader.bytesRead();
    }

    /** Closes the reader and the descriptor; steps not released yet stay valid until released. */
    @Override
    public synchronized void close() {
        reader.close();
        if (arena != null) {
            arena.close();
            arena = null;
        }
    }
}
