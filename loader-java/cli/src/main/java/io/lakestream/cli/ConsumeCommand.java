package io.lakestream.cli;

import io.lakestream.reader.EndOfStreamException;
import io.lakestream.StreamEnv;
import io.lakestream.reader.RankReader;
import io.lakestream.reader.ReaderOptions;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.reader.StepBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.io.PrintStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "consume", description = {
        "Read one rank's shards in step order and print one JSON line per step.",
        "With --steps N it reads exactly N steps and fails (exit 4 (timed out)) if one is not committed",
        "within --timeout-s (exit 1 (error) if the stream is closed before N steps); without it, it reads",
        "until the end of a closed stream, or until no new step arrives for --timeout-s, then exits 0 (ok)."})
final class ConsumeCommand implements Callable<Integer> {
    enum Print { ids, digest }

    @picocli.CommandLine.Mixin
    MetricsOption metrics = new MetricsOption();

    @Option(names = "--stream", required = true)
    String stream;

    @Option(names = "--rank", required = true)
    int rank;

    @Option(names = "--world-size", required = true, description = "ranks reading the stream (another than the stream's needs --elastic)")
    int worldSize;

    @Option(names = "--elastic", description = {"read a stream written for another world size: each step's samples are split",
            "into --world-size contiguous ranges (default: refuse another world size)"})
    boolean elastic;

    @Option(names = "--from-step", defaultValue = "0")
    long fromStep;

    @Option(names = "--steps", defaultValue = "-1", description = "steps to read (default: until idle)")
    long steps;

    @Option(names = "--print", defaultValue = "digest", description = "ids | digest (SHA-256 of the shard's tensor bytes)")
    Print print;

    @Option(names = "--timeout-s", defaultValue = "30")
    double timeoutS;

    @Override
    public Integer call() throws Exception {
        metrics.start("consume");
        long timeoutMs = (long) (timeoutS * 1000);
        PrintStream out = System.out;
        try (ObjectStore store = ObjectStores.open(stream, false);
             RankReader reader = elastic
                     ? RankReader.openElastic(store, rank, worldSize, fromStep, ReaderOptions.defaults(), null, StreamEnv.fromEnvironment())
                     : RankReader.open(store, rank, worldSize, fromStep, ReaderOptions.defaults(), null, StreamEnv.fromEnvironment())) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (long i = 0; steps < 0 || i < steps; i++) {
                StepBatch b;
                try {
                    b = reader.next(timeoutMs);
                } catch (ReaderTimeoutException e) {
                    if (steps < 0 && !e.committed()) {
                        break; // caught up and idle: a normal end without --steps
                    }
                    throw e;
                } catch (EndOfStreamException e) {
                    if (steps < 0) {
                        break; // the stream is closed and every step was read
                    }
                    throw new IllegalStateException(e.getMessage() + "; only " + i + " of the " + steps + " steps asked for from step "
                            + fromStep + " exist", e);
                }
                try (b) {
                    StringBuilder sb = new StringBuilder(256);
                    sb.append("{\"step\":").append(b.step()).append(",\"rank\":").append(b.rank());
                    if (print == Print.ids) {
                        sb.append(",\"ids\":[");
                        long[] ids = b.tensor("record_id").toLongArray();
                        for (int k = 0; k < ids.length; k++) {
                            if (k > 0) {
                                sb.append(',');
                            }
                            sb.append(ids[k]);
                        }
                        sb.append(']');
                    } else {
                        sha.reset();
                        sha.update(b.tensorBytes().asByteBuffer());
                        sb.append(",\"sha256\":\"").append(HexFormat.of().formatHex(sha.digest())).append('"');
                    }
                    sb.append('}');
                    out.println(sb);
                }
            }
            out.flush();
            return 0;
        }
    }
}
