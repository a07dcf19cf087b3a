package io.lakestream.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakestream.StreamEnv;
import io.lakestream.format.Codec;
import io.lakestream.format.Json;
import io.lakestream.format.DType;
import io.lakestream.log.StreamConfig;
import io.lakestream.log.StreamEnd;
import io.lakestream.producer.ProducerOptions;
import io.lakestream.producer.TgbProducer;
import io.lakestream.retention.BackgroundGc;
import io.lakestream.control.Controls;
import io.lakestream.log.ControlRecord;
import io.lakestream.producer.ControlChangedException;
import io.lakestream.source.Mixture;
import io.lakestream.source.SampleBatch;
import io.lakestream.source.SampleSource;
import io.lakestream.source.Sources;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "produce", description = {
        "Write global batches from a source and commit them, exactly once.",
        "Creates the stream if absent, resumes from this producer's committed cursor, and exits 0 (ok)",
        "when the source is exhausted (or --max-steps were written). A final partial batch (fewer",
        "than W x B records left) is committed as a smaller batch spread evenly over the ranks.",
        "Exit 6 (closed) if the stream is closed; exit 2 (usage) for bad arguments, before anything is committed.",
        "A JSONL line that is not JSON (or lacks the field) stops the producer with its file and line number:",
        "the batches before it are committed, and a rerun after the fix continues exactly."})
final class ProduceCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    MetricsOption metrics = new MetricsOption();

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

    @Option(names = "--source", required = true, description = {"synthetic:records=N,seed=S[,partition=P/Q]",
            "text:path=DIR_OR_FILE[,glob=G][,partition=P/Q][,tokenizer=tokenizer.json[,eod=ID][,pad=ID]]  (a file is a document)",
            "jsonl:path=FILE_OR_DIR[,field=text][,glob=G][,partition=P/Q][,tokenizer=...]  (a line is a document)",
            "Text and JSONL are tokenised (bytes by default) and packed into --seq-len samples.",
            "Repeat as NAME=SPEC for a mixture of named sources weighted by --mixture or the stream's control records."})
    List<String> source;

    @Option(names = "--mixture", description = {"weights of named sources (--source NAME=SPEC, repeated), e.g. web:0.7,code:0.3,",
            "used until a control record sets 'mixture' (default: equal weights)"})
    String mixture;

    @Option(names = "--max-steps", defaultValue = "-1", description = "stop after this many global batches (default: until exhausted)")
    long maxSteps;

    @Option(names = "--dtype", defaultValue = "i32",
            description = "how tokens are stored: i32 (default) or u16 (vocabularies under 65,536: half the bytes)")
    String dtype;

    @Option(names = "--lz4", description = "store shards LZ4-compressed")
    boolean lz4;

    @Option(names = "--group", defaultValue = "4", description = "TGBs per commit at least (grows on conflicts)")
    int group;

    @Option(names = "--fixed-group", description = "exactly --group TGBs per commit (no adaptive growth, no linger bound)")
    boolean fixedGroup;

    // Stream-wide settings: they go into _lakestream.json when this producer creates the stream,
    // and are ignored for an existing stream (every process then reads the stream's own).

    @Option(names = "--snapshot-interval", defaultValue = "64", description = "new stream: snapshot every N versions")
    int snapshotInterval;

    @Option(names = "--keep-checkpoints", defaultValue = "2", description = "new stream: retention, checkpoints kept")
    int keepCheckpoints;

    @Option(names = "--max-lag-steps", defaultValue = "0",
            description = "new stream: flow control, wait while committed steps - latest checkpoint exceeds this (0: off)")
    long maxLagSteps;

    @Option(names = "--index-segment-steps", defaultValue = "1024", description = "new stream: most steps per step-index segment")
    int indexSegmentSteps;

    @Option(names = "--index-segment-bytes", defaultValue = "1048576",
            description = "new stream: most bytes per step-index segment (and snapshot tail); 0: steps only")
    long indexSegmentBytes;

    @Option(names = "--data-layout", defaultValue = "producer",
            description = "new stream: batch objects under data/<producer>/ (producer) or data/<hh>/<producer>/ (hashed: 256 key"
                    + " prefixes per producer, for S3's per-prefix request limits at large world sizes)")
    String dataLayout;

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

    /** Positions the source at the producer's committed cursor, under the control in force. */
    private static void resume(SampleSource src, Mixture mix, TgbProducer p) {
        src.seek(p.committedCursor());
        if (mix != null) {
            ControlRecord c = p.control();
            mix.applyControl(c == null ? 0 : c.version(), c == null ? null : c.settings().get(Controls.MIXTURE));
        }
    }

    /** A mixture when the sources are named (NAME=SPEC), else null (one plain source). */
    private Mixture mixture() {
        Map<String, String> named = new LinkedHashMap<>();
        for (String s : source) {
            int eq = s.indexOf('=');
            int colon = s.indexOf(':');
            if (eq > 0 && (colon < 0 || eq < colon)) {
                if (named.put(s.substring(0, eq), s.substring(eq + 1)) != null) {
                    throw new IllegalArgumentException("--source name '" + s.substring(0, eq) + "' given twice");
                }
            }
        }
        if (named.isEmpty()) {
            if (source.size() > 1 || mixture != null) {
                throw new IllegalArgumentException("several --source options and --mixture need named sources: --source NAME=SPEC");
            }
            return null;
        }
        if (named.size() != source.size()) {
            throw new IllegalArgumentException("name every --source of a mixture: --source NAME=SPEC");
        }
        return new Mixture(named, seqLen, mixture == null ? null : Mixture.parseWeights(mixture));
    }

    @Override
    public Integer call() {
        metrics.start("produce");
        if (worldSize < 1 || microBatch < 1 || seqLen < 1) {
            throw new UsageException("--world-size, --micro-batch and --seq-len must be >= 1");
        }
        DType tokenType = switch (dtype.toLowerCase(java.util.Locale.ROOT)) {
            case "i32" -> DType.I32;
            case "u16" -> DType.U16;
            default -> throw new UsageException("--dtype must be i32 or u16, got '" + dtype + "'");
        };
        ProducerOptions opts = ProducerOptions.defaults().withCodec(lz4 ? Codec.LZ4 : Codec.NONE).withGroup(group, fixedGroup ? group : 64, !fixedGroup)
                .withUnsafeStore(unsafeStore);
        if (unsafeStore) {
            System.err.println("lakestream produce: WARNING: --unsafe-store: a new stream is created without checking that the store's"
                    + " conditional writes have exactly one winner; exactly-once is not guaranteed on such a store");
        }
        // LAKESTREAM_FAILPOINTS arms fail points in this process (the crash tests' child producers)
        StreamEnv env = StreamEnv.fromEnvironment();
        StreamConfig template = StreamConfig.of(worldSize).withSnapshotInterval(snapshotInterval)
                .withRetention(keepCheckpoints, maxLagSteps).withIndexSegmentSteps(indexSegmentSteps)
                .withIndexSegmentBytes(indexSegmentBytes).withDataLayout(dataLayout)
                .withLogGraceMs(Math.round(logGraceS * 1000));
        if (orphanGraceS != null) {
            template = template.withOrphanGraceMs(Math.round(orphanGraceS * 1000));
        }
        Mixture mix;
        try {
            mix = mixture();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e); // before the store is opened: nothing was created or committed
        }
        try (SampleSource src = mix != null ? mix : Sources.open(source.get(0), seqLen);
             ObjectStore store = ObjectStores.open(stream, true);
             TgbProducer p = TgbProducer.open(store, producer, template, opts, env);
             BackgroundGc gc = gcEveryS > 0 ? new BackgroundGc(store, (long) (gcEveryS * 1000),
                     orphanGraceS != null ? Math.round(orphanGraceS * 1000) : p.log().config().orphanGraceMs(), env) : null) {
            resume(src, mix, p);
            long startSeq = p.committedSeq();
            int perStep = Math.multiplyExact(worldSize, microBatch);
            SampleBatch batch = new SampleBatch(seqLen, perStep, tokenType);
            TreeMap<Long, Integer> samplesOf = new TreeMap<>(); // seq -> samples, for this run's summary
            boolean exhausted = false;
            while (true) {
                long written = p.committedSeq() + p.pendingCount() - startSeq;
                batch.clear();
                if (maxSteps < 0 || written < maxSteps) {
                    while (batch.size() < perStep && src.next(batch)) {
                        // gather one global batch
                    }
                    exhausted = batch.size() == 0;
                }
                try {
                    if (batch.size() == 0) {
                        p.commit();
                        break;
                    }
                    // A mixture follows the control records: the batch is stamped with the version it was made under.
                    long seq = p.append(batch.shards(worldSize, src.packed()), src.cursor(), mix == null ? null : mix.controlVersion());
                    samplesOf.put(seq, batch.size());
                } catch (ControlChangedException e) {
                    // The queued batches were dropped: generate again from the committed cursor, under the new control.
                    samplesOf.tailMap(p.committedSeq(), false).clear();
                    resume(src, mix, p);
                }
            }
            long steps = p.committedSeq() - startSeq;
            long samples = samplesOf.values().stream().mapToLong(Integer::longValue).sum();
            long endedAt = closeWhenDone && exhausted ? StreamEnd.close(p.log()).state().endStep() : -1;
            ObjectNode summary = Json.MAPPER.createObjectNode();
            summary.put("producer", producer);
            summary.put("epoch", p.epoch());
            summary.put("resumed_at_seq", startSeq);
            summary.put("steps", steps);
            summary.put("samples", samples);
            summary.put("committed_seq", p.committedSeq());
            summary.put("cursor", p.committedCursor());
            summary.put("commits", p.commits());
            summary.put("conflicts", p.conflicts());
            if (mix != null) {
                summary.put("control_version", mix.controlVersion());
                summary.put("control_rewinds", p.controlRewinds());
            }
            if (endedAt >= 0) {
                summary.put("ended_at_step", endedAt);
            }
            System.out.println(summary);
            return 0;
        }
    }
}
