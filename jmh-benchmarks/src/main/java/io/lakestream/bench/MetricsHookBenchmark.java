package io.lakestream.bench;

import io.lakestream.metrics.Counter;
import io.lakestream.metrics.Gauge;
import io.lakestream.metrics.Histogram;
import io.lakestream.metrics.Metrics;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * What the metrics add to one step of the read path, measured alone: what {@code RankReader.next}
 * records (two clock reads, a histogram observation, three counter adds), what the pool records
 * (one lend, one release) and what the counting store records (one ranged GET). Compared with the
 * time of a step ({@link ReaderNextBenchmark}), this is the overhead as a share; measured alone it
 * is not drowned in the read path's own variance on a busy machine.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class MetricsHookBenchmark {
    private final Metrics registry = new Metrics();
    private final Histogram wait = registry.histogram("wait_seconds", "h");
    private final Counter steps = registry.counter("steps_total", "c");
    private final Counter bytes = registry.counter("bytes_total", "c");
    private final Counter gets = registry.counter("requests_total", "c", "op", "get_range");
    private final Gauge slabs = registry.gauge("slabs", "g");
    private long called = System.nanoTime();

    @Benchmark
    public long stepHooks() {
        long now = System.nanoTime();
        wait.recordNanos(now - called);
        steps.inc();
        bytes.add(262_144);
        gets.inc();
        slabs.add(1);
        slabs.add(-1);
        called = System.nanoTime();
        return now;
    }

    /** The clock reads alone: the part of {@link #stepHooks} the reader pays whatever it records. */
    @Benchmark
    public long clockReads() {
        long now = System.nanoTime();
        called = System.nanoTime();
        return now;
    }
}
