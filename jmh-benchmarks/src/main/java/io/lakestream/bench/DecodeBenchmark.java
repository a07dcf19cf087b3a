package io.lakestream.bench;

import io.lakestream.format.Crc32c;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.TensorBlob;
import io.lakestream.memory.Pinners;
import io.lakestream.memory.PinnedPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * Decode throughput of one shard, off-heap to a pinned pool slab: LZ4 decode of the stored frame
 * against a plain {@link MemorySegment#copy} of the same decoded bytes (the floor any decode is
 * measured against), and the CRC32C every fetch runs over the stored bytes. The
 * {@code decodedBytes} counter is a rate: bytes of decoded shard per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx2g"})
public class DecodeBenchmark {
    @Param({"262144", "4194304", "33554432"})
    public int shardBytes;

    private Arena arena;
    private MemorySegment raw;
    private MemorySegment frame;
    private PinnedPool pool;
    private PinnedPool.Lease lease;
    private MemorySegment dst;

    /** Decoded (or copied, or checksummed) shard bytes per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long decodedBytes;

        @Setup(Level.Iteration)
        public void reset() {
            decodedBytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        byte[] blob = TensorBlob.encode(BenchStream.shard(shardBytes, 0));
        byte[] lz4 = Lz4Frames.encode(blob);
        arena = Arena.ofShared();
        raw = arena.allocate(blob.length, 4096).copyFrom(MemorySegment.ofArray(blob));
        frame = arena.allocate(lz4.length, 4096).copyFrom(MemorySegment.ofArray(lz4));
        pool = new PinnedPool(1L << 20, 1, Pinners.defaultPinner());
        lease = pool.acquire(blob.length, 1000);
        dst = lease.segment().asSlice(0, blob.length);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lease.close();
        pool.close();
        arena.close();
    }

    @Benchmark
    public void lz4Decode(Bytes b) {
        Lz4Frames.decode(frame, dst, "bench");
        b.decodedBytes += dst.byteSize();
    }

    @Benchmark
    public void memcpyBaseline(Bytes b) {
        MemorySegment.copy(raw, 0, dst, 0, raw.byteSize());
        b.decodedBytes += dst.byteSize();
    }

    @Benchmark
    public long crc32c(Bytes b) {
        b.decodedBytes += raw.byteSize();
        return Crc32c.of(raw);
    }
}
