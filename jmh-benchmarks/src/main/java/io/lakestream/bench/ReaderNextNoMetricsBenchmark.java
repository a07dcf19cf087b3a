package io.lakestream.bench;

import org.openjdk.jmh.annotations.Fork;

/**
 * {@link ReaderNextBenchmark} in a JVM with Lakestream's metrics off ({@code -Dlakestream.metrics=false}:
 * no recording in the reader, the follower and the pool, no counting store wrapper): the
 * difference to {@link ReaderNextBenchmark} is what the metrics cost on the read path.
 */
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx2g", "-Dlakestream.metrics=false"})
public class ReaderNextNoMetricsBenchmark extends ReaderNextBenchmark {
}
