package io.lakestream.bench;

import io.lakestream.testkit.s3.S3ServerProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The embedded S3 server in a child JVM ({@link S3ServerProcess}), so that a benchmark's
 * allocation and CPU figures count the client only. One bucket, one stream URI; closing it is
 * the server's cue to stop and remove its directory.
 */
final class S3ServerChild implements AutoCloseable {
    private final Process process;
    private final Writer in;
    private final String uri;

    private S3ServerChild(Process process, Writer in, String uri) {
        this.process = process;
        this.in = in;
        this.uri = uri;
    }

    /** Starts the server with its data and log under {@code dir} and creates {@code bucket}. */
    static S3ServerChild start(Path dir, String bucket) throws IOException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-Djava.io.tmpdir=" + dir, "-cp", System.getProperty("java.class.path"), S3ServerProcess.class.getName())
                .redirectError(dir.resolve("s3-server.log").toFile()).start();
        Writer in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            expect(out, "READY");
            in.write("BUCKET " + bucket + "\n");
            in.flush();
            return new S3ServerChild(p, in, expect(out, "URI"));
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** The {@code s3://} URI of a stream in the bucket. */
    String uri() {
        return uri;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        in.close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    private static String expect(BufferedReader out, String word) throws IOException {
        for (String l; (l = out.readLine()) != null; ) {
            if (l.startsWith(S3ServerProcess.TAG + word)) {
                return l.substring(S3ServerProcess.TAG.length() + word.length()).trim();
            }
        }
        throw new IOException("the S3 server process ended before '" + word + "' (see s3-server.log)");
    }
}
