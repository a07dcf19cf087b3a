package io.lakestream.cli;

import io.lakestream.StreamEnv;
import io.lakestream.format.Codec;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamEnd;
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
        "than W x B records left) is committed as a smaller batch spread evenly over the ranks.",
        "Exit 5 if the stream is closed."})
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

    @Option(names = "--lz4", description = "store shards LZ4-compressed")
    boolean lz4;

    @Option(names = "--group", defaultValue = "4", description = "TGBs per commit at least (grows on conflicts)")
    int group;

    // Stream-wide settings: they go into _lakestream.json when this producer creates the stream,
    // and are ignored for an existing stream (every process then reads the stream's own).

    @Option(names = "--snapshot-interval", defaultValue = "64", description = "new stream: snapshot every N versions")
    int snapshotInterval;

    @Option(names = "--keep-checkpoints", defaultValue = "2", description = "new stream: retention, checkpoints kept")
    int keepCheckpoints;

    @Option(names = "--max-lag-steps", defaultValue = "0",
            description = "new stream: flow control, wait while committed steps - latest checkpoint exceeds this (0: off)")
    long maxLagSteps;

    @Option(names = "--index-segment-steps", defaultValue = "1024", description = "new stream: steps per step-index segment")
    int indexSegmentSteps;

    @Option(names = "--log-grace-s", defaultValue = "600",
            description = "new stream: log grace, GC keeps log files younger than this (must exceed clock skew)")
    double logGraceS;

    @Option(names = "--orphan-grace-s",
            description = "new stream: GC's default orphan grace (default 3600); also this producer's background GC's")
    Double orphanGraceS;

    @Option(names = "--gc-every-s", defaultValue = "0", description = "run GC in the background every N seconds (0: off)")
    double gcEveryS;

    @Option(names = "--unsafe-store", description = "create the stream even if the store fails the put-if-absent probe "
            + "(see `lakestream doctor`): exactly-once is then NOT guaranteed")
    boolean unsafeStore;

    @Option(names = "--close-when-done", description = "close the stream (end-of-stream record) once the source is exhausted: "
            + "only for the stream's only producer; with several, run 'lakestream close' after all finished")
    boolean closeWhenDone;

    @Override
    public Integer call() {
        if (worldSize < 1 || microBatch < 1 || seqLen < 1) {
            throw new IllegalArgumentException("--world-size, --micro-batch and --seq-len must be >= 1");
        }
        SyntheticSource src = SyntheticSource.parse(source, seqLen);
        ProducerOptions opts = ProducerOptions.defaults().withCodec(lz4 ? Codec.LZ4 : Codec.NONE).withGroup(group, 64, true)
                .withUnsafeStore(unsafeStore);
        if (unsafeStore) {
            System.err.println("lakestream produce: WARNING: --unsafe-store: a new stream is created without checking that the store's"
                    + " conditional writes have exactly one winner; exactly-once is not guaranteed on such a store");
        }
        // LAKESTREAM_FAILPOINTS arms fail points in this process (the crash tests' child producers)
        StreamEnv env = StreamEnv.fromEnvironment();
        StreamConfig template = StreamConfig.of(worldSize).withSnapshotInterval(snapshotInterval)
                .withRetention(keepCheckpoints, maxLagSteps).withIndexSegmentSteps(indexSegmentSteps)
                .withLogGraceMs(Math.round(logGraceS * 1000));
        if (orphanGraceS != null) {
            template = template.withOrphanGraceMs(Math.round(orphanGraceS * 1000));
        }
        try (ObjectStore store = ObjectStores.open(stream, true);
             TgbProducer p = TgbProducer.open(store, producer, template, opts, env);
             BackgroundGc gc = gcEveryS > 0 ? new BackgroundGc(store, (long) (gcEveryS * 1000),
                     orphanGraceS != null ? Math.round(orphanGraceS * 1000) : p.log().config().orphanGraceMs(), env) : null) {
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
            boolean exhausted = maxSteps < 0 || steps < maxSteps || src.take(next, 1).length == 0;
            long endedAt = closeWhenDone && exhausted ? StreamEnd.close(p.log()).state().endStep() : -1;
            System.out.printf("{\"producer\":\"%s\",\"epoch\":%d,\"resumed_at_seq\":%d,\"steps\":%d,\"samples\":%d,"
                            + "\"committed_seq\":%d,\"cursor\":\"%s\",\"commits\":%d,\"conflicts\":%d%s}%n",
                    producer, p.epoch(), startSeq, steps, samples, p.committedSeq(), p.committedCursor(), p.commits(), p.conflicts(),
                    endedAt >= 0 ? ",\"ended_at_step\":" + endedAt : "");
            return 0;
        }
    }
}
