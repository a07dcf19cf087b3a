package io.lakestream.spark;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.connector.write.DataWriter;
import org.apache.spark.sql.types.DataTypes;

/**
 * The example behind {@code loader-java/spark/run-example}: tokenise a text corpus (the licences
 * Debian ships, else generated text) with Spark {@code local[2]} into one stream, three ways, with
 * real failures: a batch job whose every task's first attempt fails after committing batches; a
 * second attempt of a partition started while the first still runs (fenced); a Structured
 * Streaming query whose driver (a child JVM) is killed with SIGKILL mid-query and restarted.
 * Then it reads the stream back and checks every document once, token for token, and writes
 * {@code summary.properties} for the script (which also reads with the CLI and TorchDataset).
 *
 * <p>Args: {@code WORKDIR STREAM_URI quick|full} (or {@code WORKDIR STREAM_URI bench CORES COPIES}:
 * the batch job alone, timed, no failures).
 */
public final class ExampleMain {
    static final int SEQ_LEN = 128;
    static final int EOD = 256;
    static final int PAD = 257;

    private ExampleMain() {}

    /** {@code utf8_bytes(text)}: the byte tokenizer of the CLI's text sources (token = byte 0..255). */
    static void registerTokenizer(SparkSession spark) {
        spark.udf().register("utf8_bytes", (UDF1<String, int[]>) ExampleMain::tokens,
                DataTypes.createArrayType(DataTypes.IntegerType, false));
    }

    static int[] tokens(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xFF;
        }
        return t;
    }

    /** Paragraphs of the corpus, {@code copies} times over (a copy's paragraphs tagged, so documents differ). */
    static List<String> corpus(int copies) throws IOException {
        List<String> paragraphs = new ArrayList<>();
        Path dir = Path.of("/usr/share/common-licenses");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(f -> Files.isRegularFile(f) && !Files.isSymbolicLink(f)).sorted().toList()) {
                    for (String para : Files.readString(f, StandardCharsets.ISO_8859_1).split("\\n\\s*\\n")) {
                        if (!para.isBlank()) {
                            paragraphs.add(para.strip());
                        }
                    }
                }
            }
        }
        if (paragraphs.isEmpty()) { // no licences shipped: generated text
            java.util.Random r = new java.util.Random(7);
            for (int i = 0; i < 1000; i++) {
                StringBuilder b = new StringBuilder();
                for (int w = 5 + r.nextInt(120); w > 0; w--) {
                    b.append("lorem ipsum dolor sit amet consectetur adipiscing elit".split(" ")[r.nextInt(8)]).append(' ');
                }
                paragraphs.add(b.toString().strip());
            }
        }
        List<String> out = new ArrayList<>();
        for (int c = 0; c < copies; c++) {
            for (String p : paragraphs) {
                out.add(c == 0 ? p : p + " [" + c + "]");
            }
        }
        return out;
    }

    static String json(long id, String text) {
        StringBuilder b = new StringBuilder("{\"record_id\":").append(id).append(",\"text\":\"");
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        b.append(String.format("\\u%04x", (int) ch));
                    } else {
                        b.append(ch);
                    }
                }
            }
        }
        return b.append("\"}\n").toString();
    }

    static void writeJsonl(Path file, List<String> docs, int from, int to) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < to; i++) {
            b.append(json(i, docs.get(i)));
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, b, StandardCharsets.UTF_8);
        Files.move(tmp, file);
    }

    static SparkSession session(int cores, long maxPartitionBytes) {
        SparkSession s = SparkSession.builder().master("local[" + cores + ",4]").appName("lakestream-spark-example")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.files.maxPartitionBytes", String.valueOf(maxPartitionBytes))
                .config("spark.sql.files.openCostInBytes", "0").getOrCreate();
        s.sparkContext().setLogLevel("ERROR");
        registerTokenizer(s);
        return s;
    }

    static Map<String, String> packedOptions(String uri, String name) {
        return new HashMap<>(Map.of("stream", uri, "name", name, "worldSize", "2", "microBatch", "4", "seqLen",
                String.valueOf(SEQ_LEN), "lengths", "packed", "eod", String.valueOf(EOD), "pad", String.valueOf(PAD)));
    }

    static void batchJob(SparkSession spark, Path input, String uri, String name, String failPoints) {
        Map<String, String> opts = packedOptions(uri, name);
        if (failPoints != null) {
            opts.put("failPoints", failPoints);
        }
        spark.read().schema("record_id long, text string").json(input.toString())
                .selectExpr("record_id", "utf8_bytes(text) as tokens")
                .write().format("lakestream").mode("append").options(opts).save();
    }

    /** Two attempts of one partition at once (driven through the writer factory Spark ships): returns how many were fenced. */
    static int concurrentAttempts(String uri, List<String> docs, int from, int to) {
        SparkWriteOptions o = SparkWriteOptions.parse(Map.of("stream", uri, "name", "example-spec", "worldSize", "2",
                "microBatch", "4", "seqLen", String.valueOf(SEQ_LEN), "lengths", "packed", "eod", String.valueOf(EOD),
                "pad", String.valueOf(PAD), "group", "1", "writeParallelism", "0"));
        var factory = new LakestreamDataWriter.Factory(o, RowMapping.of(RowMapping.defaultSchema("record_id", "tokens"), o), 1);
        DataWriter<InternalRow> slow = factory.createWriter(0, 1);
        int half = from + (to - from) / 2;
        try {
            for (int i = from; i < half; i++) {
                slow.write(row(i, docs.get(i)));
            }
            DataWriter<InternalRow> second = factory.createWriter(0, 2); // the speculative attempt
            for (int i = from; i < to; i++) {
                second.write(row(i, docs.get(i)));
            }
            second.commit();
            second.close();
            try {
                for (int i = half; i < to; i++) {
                    slow.write(row(i, docs.get(i)));
                }
                slow.commit();
                return 0;
            } catch (ProducerFencedException e) {
                slow.abort();
                return 1;
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            try {
                slow.close();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    private static InternalRow row(long id, String text) {
        return new GenericInternalRow(new Object[] {id, ArrayData.toArrayData(tokens(text))});
    }

    static ManifestState state(String uri) {
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            return ManifestLog.open(store, true).state();
        } catch (io.lakestream.store.StreamNotFoundException e) {
            return null;
        }
    }

    /** Extra epochs of a job's producers: each is an attempt that failed or was fenced after it started writing. */
    static long retriedAttempts(ManifestState st, String name) {
        long n = 0;
        for (Map.Entry<String, ProducerState> e : st.producers().entrySet()) {
            if (e.getKey().startsWith(name + "-p")) {
                n += e.getValue().epoch() - 1;
            }
        }
        return n;
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        String uri = args[1];
        String mode = args[2];
        Files.createDirectories(work);
        if (mode.equals("bench")) {
            bench(work, uri, Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            return;
        }
        boolean quick = mode.equals("quick");
        List<String> docs = corpus(quick ? 1 : 10);
        int n = docs.size();
        int batchEnd = n * 3 / 5;
        int specEnd = batchEnd + Math.min(200, n / 10);
        Path batchIn = work.resolve("batch.jsonl");
        writeJsonl(batchIn, docs, 0, batchEnd);
        System.out.printf("corpus: %d documents (%d bytes of text)%n", n, docs.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum());

        // 1. a batch job; every task's first attempt fails after its second commit
        SparkSession spark = session(2, Files.size(batchIn) / 4 + 1);
        long t0 = System.nanoTime();
        batchJob(spark, batchIn, uri, "example-batch", "producer.after_commit=throw@2");
        ManifestState st = state(uri);
        long failures = retriedAttempts(st, "example-batch");
        System.out.printf("batch job: documents 0..%d in %d partitions, %d steps, %.1f s; task attempts failed by the fail point"
                + " and retried: %d%n", batchEnd - 1, st.producers().keySet().stream().filter(k -> k.startsWith("example-batch-p")).count(),
                st.committedSteps(), (System.nanoTime() - t0) / 1e9, failures);
        spark.stop();

        // 2. a second attempt of a partition started while the first runs
        int fenced = concurrentAttempts(uri, docs, batchEnd, specEnd);
        System.out.printf("concurrent attempts of one partition: documents %d..%d, attempts fenced: %d%n", batchEnd, specEnd - 1, fenced);

        // 3. a streaming query, its driver killed with SIGKILL mid-query and restarted
        Path streamIn = work.resolve("stream-input");
        Files.createDirectories(streamIn);
        int files = 3;
        for (int f = 0; f < files; f++) {
            int from = specEnd + (n - specEnd) * f / files;
            int to = specEnd + (n - specEnd) * (f + 1) / files;
            writeJsonl(streamIn.resolve(String.format("part-%03d.json", f)), docs, from, to);
        }
        String ckpt = work.resolve("checkpoint").toString();
        Path log1 = work.resolve("query-run1.log");
        Process p1 = new ProcessBuilder(DriverKillTest.javaCommand(StreamingQueryMain.class.getName(), uri, streamIn.toString(), ckpt,
                "example-stream", "packed:" + SEQ_LEN, "producer.after_commit=sleep:100"))
                .redirectErrorStream(true).redirectOutput(log1.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
        while (true) { // until the query is inside its second micro-batch
            ManifestState s = state(uri);
            ProducerState ps = s == null ? null : s.producers().get("example-stream-p0");
            if (ps != null && ps.cursor() != null && SparkCursor.parse("example-stream-p0", ps.cursor()).batch() >= 1) {
                break;
            }
            if (!p1.isAlive() || System.nanoTime() > deadline) {
                p1.destroyForcibly();
                throw new IllegalStateException("the streaming driver ended or stalled before the kill:\n" + Files.readString(log1));
            }
            Thread.sleep(50);
        }
        p1.destroyForcibly();
        int killed = p1.waitFor();
        int restarts = 0;
        Path log2 = work.resolve("query-run2.log");
        Process p2 = new ProcessBuilder(DriverKillTest.javaCommand(StreamingQueryMain.class.getName(), uri, streamIn.toString(), ckpt,
                "example-stream", "packed:" + SEQ_LEN)).redirectErrorStream(true).redirectOutput(log2.toFile()).start();
        if (!p2.waitFor(600, TimeUnit.SECONDS) || p2.exitValue() != 0) {
            p2.destroyForcibly();
            throw new IllegalStateException("the restarted streaming driver failed:\n" + Files.readString(log2));
        }
        restarts++;
        System.out.printf("streaming query: documents %d..%d in %d micro-batches; driver killed (exit %d) mid-query, restarted %d time(s)%n",
                specEnd, n - 1, files, killed, restarts);

        // 4. read it all back: every document once, token for token
        List<SparkTests.Sample> samples;
        try (ObjectStore store = ObjectStores.open(uri, false)) {
            samples = SparkTests.readAll(store, 2);
        }
        long steps = state(uri).committedSteps();
        checkDocuments(samples, docs);
        Files.writeString(work.resolve("summary.properties"), "rows=" + n + "\nsteps=" + steps + "\nsamples=" + samples.size()
                + "\nfailures=" + failures + "\nfenced=" + fenced + "\nrestarts=" + restarts + "\n");
        System.out.printf("read back with the Java reader: %d steps, %d samples, all %d documents exactly once, token for token%n",
                steps, samples.size(), n);
    }

    /** Rebuilds the documents from each producer's samples (split at end-of-document) and checks each id once, same tokens. */
    static void checkDocuments(List<SparkTests.Sample> samples, List<String> docs) {
        Map<String, List<SparkTests.Sample>> byProducer = new HashMap<>();
        for (SparkTests.Sample s : samples) {
            byProducer.computeIfAbsent(s.producer(), k -> new ArrayList<>()).add(s);
        }
        boolean[] seen = new boolean[docs.size()];
        for (var e : byProducer.entrySet()) {
            List<Integer> cur = new ArrayList<>();
            long id = -1;
            for (SparkTests.Sample s : e.getValue()) {
                for (int t : s.tokens()) {
                    if (cur.isEmpty() && t != PAD && t != EOD && id < 0) {
                        id = s.firstId(); // a document starts in this sample: after a padded tail, or the producer's first
                    }
                    if (t == PAD) {
                        id = -1; // a partition's (micro-batch's) tail: the next sample re-anchors
                        continue;
                    }
                    if (t == EOD) {
                        if (id < 0 || id >= docs.size()) {
                            throw new IllegalStateException(e.getKey() + ": a document without a valid id at step " + s.step());
                        }
                        int[] want = tokens(docs.get((int) id));
                        int[] got = cur.stream().mapToInt(Integer::intValue).toArray();
                        if (!java.util.Arrays.equals(want, got)) {
                            throw new IllegalStateException("document " + id + " differs (" + e.getKey() + ", step " + s.step() + ")");
                        }
                        if (seen[(int) id]) {
                            throw new IllegalStateException("document " + id + " delivered twice (" + e.getKey() + ", step " + s.step() + ")");
                        }
                        seen[(int) id] = true;
                        cur.clear();
                        id++;
                        continue;
                    }
                    cur.add(t);
                }
            }
        }
        for (int i = 0; i < seen.length; i++) {
            if (!seen[i]) {
                throw new IllegalStateException("document " + i + " was never delivered");
            }
        }
    }

    /**
     * The batch job alone on {@code cores} task slots, no failures (for the figures): documents/s
     * of wall time and per CPU-second of this JVM (driver and executor: local mode is one JVM),
     * as the machine is shared and wall time alone says little.
     */
    static void bench(Path work, String uri, int cores, int copies) throws Exception {
        List<String> docs = corpus(copies);
        Path in = work.resolve("bench.jsonl");
        Files.deleteIfExists(in);
        writeJsonl(in, docs, 0, docs.size());
        SparkSession spark = session(cores, Files.size(in) / cores + 1);
        spark.read().schema("record_id long, text string").json(in.toString()).count(); // warm up the JVM and Spark
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        batchJob(spark, in, uri, "bench", null);
        double s = (System.nanoTime() - t0) / 1e9;
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
        ManifestState st = state(uri);
        System.out.printf("bench: spark local[%d]: %d documents (%d bytes of JSONL) -> %d steps in %.2f s wall, %.2f CPU-s:"
                + " %.0f documents/s, %.0f documents per CPU-second%n", cores, docs.size(), Files.size(in), st.committedSteps(), s, cpu,
                docs.size() / s, docs.size() / cpu);
        spark.stop();
    }

    static void deleteRecursively(Path p) throws IOException {
        if (Files.exists(p)) {
            try (Stream<Path> w = Files.walk(p)) {
                for (Path x : w.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(x);
                }
            }
        }
    }
}
