package io.lakestream.cli;

import io.lakestream.format.Codec;
import io.lakestream.format.DType;
import io.lakestream.log.StreamConfig;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.BackgroundGc;
import io.lakestream.source.SyntheticSource;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "produce", description = {
        "Write global batches from a source and commit them, exactly once.",
        "Creates the stream if absent, resumes from this producer's committed cursor, and exits 0",
        "when the source is exhausted (or --max-steps were written). A final partial batch (fewer",
        "than W x B records left) is committed as a smaller batch spread evenly over the ranks."})
final class ProduceCommand implements Callable<Integer> {
    @Option(names = "--stream", required = true, description = "stream URI (file:///dir or s3://bucket/prefix)")
    String stream;

    @Option(names = "--producer", required = true, description = "stable producer id")
    String producer;

    @Option(names = "--world-size", required = true, description = "data-parallel ranks per global batch")
    int worldSize;

    @Option(names = "--micro-batch", required = true, description = "samples per rank per step")
    int microBatch;

    @Option(names = "--seq-len", required = true, description = "tokens per sample")
    int seqLen;

    @Option(names = "--source", required = true, description = "synthetic:records=N,seed=S[,partition=P/Q]")
    String source;

    @Option(names = "--max-steps", defaultValue = "-1", description = "stop after this many global batches (default: until exhausted)")
    long maxSteps;

    @Option(names = "--dtype", defaultValue = "i32",
            description = "token dtype of the synthetic source: i32 (default) or u16 (vocabularies under 65,536: half the bytes)")
    String dtype;

    @Option(names = "--lz4", description = "store shards LZ4-compressed")
    boolean lz4;

    @Option(names = "--group", defaultValue = "4", description = "TGBs per commit at least (grows on conflicts)")
    int group;

    @Option(names = "--snapshot-interval", defaultValue = "64", description = "snapshot every N versions (new streams only)")
    int snapshotInterval;

    @Option(names = "--keep-checkpoints", defaultValue = "2", description = "retention for a new stream: checkpoints kept")
    int keepCheckpoints;

    @Option(names = "--max-lag-steps", defaultValue = "0",
            description = "flow control for a new stream: wait while committed steps - latest checkpoint exceeds this (0: off)")
    long maxLagSteps;

    @Option(names = "--gc-every-s", defaultValue = "0", description = "run GC in the background every N seconds (0: off)")
    double gcEveryS;

    @Option(names = "--orphan-grace-s", defaultValue = "3600", description = "background GC: orphan grace period")
    long orphanGraceS;

    @Override
    public Integer call() {
        if (worldSize < 1 || microBatch < 1 || seqLen < 1) {
            throw new IllegalArgumentException("--world-size, --micro-batch and --seq-len must be >= 1");
        }
        SyntheticSource src = SyntheticSource.parse(source, seqLen).withTokenType(switch (dtype.toLowerCase(java.util.Locale.ROOT)) {
            case "i32" -> DType.I32;
            case "u16" -> DType.U16;
            default -> throw new IllegalArgumentException("--dtype must be i32 or u16, got '" + dtype + "'");
        });
        ProducerOptions opts = ProducerOptions.defaults().withCodec(lz4 ? Codec.LZ4 : Codec.NONE).withGroup(group, 64, true);
        try (ObjectStore store = ObjectStores.open(stream, true);
             TgbProducer p = TgbProducer.open(store, producer, StreamConfig.of(worldSize).withSnapshotInterval(snapshotInterval)
                     .withRetention(keepCheckpoints, maxLagSteps), opts);
             BackgroundGc gc = gcEveryS > 0 ? new BackgroundGc(store, (long) (gcEveryS * 1000), orphanGraceS * 1000) : null) {
            long resume = SyntheticSource.parseCursor(p.committedCursor());
            long next = resume < 0 ? src.startIndex() : resume;
            long startSeq = p.committedSeq();
            long steps = 0;
            long samples = 0;
            int perStep = Math.multiplyExact(worldSize, microBatch);
            while (maxSteps < 0 || steps < maxSteps) {
                long[] ids = src.take(next, perStep);
                if (ids.length == 0) {
                    break;
                }
                next = src.after(ids[ids.length - 1]);
                p.append(src.globalBatch(ids, worldSize), SyntheticSource.cursor(next));
                steps++;
                samples += ids.length;
            }
            p.commit();
            System.out.printf("{\"producer\":\"%s\",\"epoch\":%d,\"resumed_at_seq\":%d,\"steps\":%d,\"samples\":%d,"
                            + "\"committed_seq\":%d,\"cursor\":\"%s\",\"commits\":%d,\"conflicts\":%d}%n",
                    producer, p.epoch(), startSeq, steps, samples, p.committedSeq(), p.committedCursor(), p.commits(), p.conflicts());
            return 0;
        }
    }
}
