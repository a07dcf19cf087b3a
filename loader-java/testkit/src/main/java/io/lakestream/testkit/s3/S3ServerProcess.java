package io.lakestream.testkit.s3;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The embedded S3 server as its own process, for benchmarks that must charge the server's CPU,
 * memory and allocations apart from the client's (the comparison harness, the JMH read-path
 * allocation benchmark). Start {@code java -cp <testkit and its deps> io.lakestream.testkit.s3.S3ServerProcess};
 * objects live under {@code java.io.tmpdir}. Protocol, one line each way:
 * <ul>
 *   <li>it prints {@value #TAG}{@code READY <endpoint>} once serving;
 *   <li>{@code BUCKET <name>} on stdin creates a bucket and answers {@value #TAG}{@code URI <s3 stream uri>}
 *       (carrying endpoint and the throwaway key pair);
 *   <li>stdin closing stops the server and removes its directory.
 * </ul>
 * Everything else it prints goes to stderr.
 */
public final class S3ServerProcess {
    /** Prefix of protocol lines on stdout. */
    public static final String TAG = "@@";

    private S3ServerProcess() {}

    public static void main(String[] args) throws Exception {
        PrintStream protocol = System.out;
        System.setOut(new PrintStream(System.err, true, StandardCharsets.UTF_8));
        try (EmbeddedS3Server server = EmbeddedS3Server.start()) {
            protocol.println(TAG + "READY " + server.endpoint());
            protocol.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("BUCKET ")) {
                    String bucket = line.substring(7).trim();
                    server.createBucket(bucket);
                    protocol.println(TAG + "URI " + server.streamUri(bucket, "stream"));
                    protocol.flush();
                }
            }
        }
        System.exit(0);
    }
}
