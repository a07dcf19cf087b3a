package io.lakestream.bench;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.TgbEntry;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import io.lakestream.reader.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Per-step read latency of one rank on a file:// stream: the work {@code RankReader.fetch} does
 * for one step, step for step (lease a pinned pool slab, one ranged read of exactly the rank's
 * bytes into it, CRC32C, LZ4 decode into the same slab, parse the tensor header, build the
 * tensor views, give the slab back). It is restated here because the reader's fetch is private
 * and pipelined behind its prefetch queue, which would hide the per-step cost. The store's files
 * are in the page cache after the first pass, so this is the CPU-and-memory cost of the data
 * path, not of a disk.
 *
 * <p>Counters {@code fetchedBytes} and {@code deliveredBytes} give read amplification
 * (bytes read from the store / tensor bytes handed to the trainer).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx2g"})
public class StepReadBenchmark {
    private static final int RANK = 1;

    @Param({"262144", "4194304", "33554432"})
    public int shardBytes;

    @Param({"none", "lz4"})
    public String codec;

    private BenchStream stream;
    private PinnedPool pool;
    private int next;
    private final TensorBlob.Parser blobs = new TensorBlob.Parser(); // one per reader, as RankReader has

    /** Bytes fetched from the store and tensor bytes delivered, summed over an iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Bytes {
        public long fetchedBytes;
        public long deliveredBytes;

        @Setup(Level.Iteration)
        public void reset() {
            fetchedBytes = 0;
            deliveredBytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        // Enough distinct steps that consecutive reads touch different objects (and slabs).
        int steps = Math.max(4, (64 << 20) / (2 * shardBytes));
        stream = BenchStream.create(shardBytes, Codec.parse(codec, "bench"), Math.min(steps, 64));
        // The reader's own pool shape: prefetch 4 gives 2 * 4 + 2 slabs, on the default pinner.
        pool = new PinnedPool(1L << 20, 10, Pinners.defaultPinner());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        stream.close();
    }

    @Benchmark
    public long fetchStep(Bytes bytes) throws InterruptedException {
        int i = next;
        next = i + 1 == stream.entries.size() ? 0 : i + 1;
        TgbEntry entry = stream.entries.get(i);
        // From here on: RankReader.fetch(step, entry), restated.
        ShardEntry shard = entry.shards().get(RANK);
        String where = "stream " + stream.store.describe() + " step " + i + " rank " + RANK + " object " + entry.object();
        Codec c = Codec.parse(entry.codec(), where);
        long need = shard.length() + (c == Codec.LZ4 ? shard.rawLength() : 0);
        try (PinnedPool.Lease lease = pool.acquire(need, 60_000)) {
            MemorySegment stored = lease.segment().asSlice(0, shard.length());
            stream.store.readRange(entry.object(), shard.offset(), stored);
            long crc = Crc32c.of(stored);
            if (crc != shard.crc32c()) {
                throw new ChecksumMismatchException("checksum mismatch in " + where);
            }
            MemorySegment blob = stored;
            if (c == Codec.LZ4) {
                blob = lease.segment().asSlice(shard.length(), shard.rawLength());
                Lz4Frames.decode(stored, blob, where);
            }
            List<TensorBlob.View> views = blobs.parse(blob, where);
            List<Tensor> tensors = new ArrayList<>(views.size());
            for (TensorBlob.View v : views) {
                if (v.shape()[0] != shard.samples()) {
                    throw new FormatException(where + ": sample count");
                }
                tensors.add(new Tensor(v.name(), v.dtype(), v.shape(), v.data()));
            }
            List<Tensor> delivered = List.copyOf(tensors);
            MemorySegment data = TensorBlob.dataSection(blob);
            bytes.fetchedBytes += shard.length();
            bytes.deliveredBytes += data.byteSize();
            return delivered.size() + data.byteSize();
        }
    }
}
