package io.lakestream.testkit.s3;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One embedded S3 server (S3Proxy) per test JVM, started on first use and stopped at JVM exit.
 * Each call makes a fresh bucket, so tests never see each other's objects:
 *
 * <pre>{@code
 * String uri = S3TestServer.newStreamUri("exactly-once");
 * try (ObjectStore store = ObjectStores.open(uri, true)) { ... }
 * }</pre>
 *
 * The URI carries the endpoint, region, path-style, checksum mode and the server's throwaway key
 * pair as query parameters, so nothing needs to be set in the environment.
 */
public final class S3TestServer {
    private static final AtomicLong BUCKETS = new AtomicLong();
    private static volatile EmbeddedS3Server server;

    private S3TestServer() {}

    /** The shared server, started if needed. */
    public static EmbeddedS3Server server() {
        EmbeddedS3Server s = server;
        if (s == null) {
            synchronized (S3TestServer.class) {
                s = server;
                if (s == null) {
                    s = EmbeddedS3Server.start();
                    EmbeddedS3Server started = s;
                    Runtime.getRuntime().addShutdownHook(new Thread(started::close, "s3-test-server-stop"));
                    server = s;
                }
            }
        }
        return s;
    }

    /**
     * A new bucket named after {@code name} and an {@code s3://bucket/stream?...} URI in it, for
     * {@code ObjectStores.open(uri, true)}.
     */
    public static String newStreamUri(String name) {
        return server().streamUri(newBucket(name), "stream");
    }

    /** Creates and returns a new bucket whose name starts with a cleaned-up {@code name}. */
    public static String newBucket(String name) {
        String base = name == null ? "" : name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        if (base.length() > 40) {
            base = base.substring(0, 40);
        }
        String bucket = ("t-" + base + "-" + BUCKETS.incrementAndGet()).replaceAll("-+", "-");
        server().createBucket(bucket);
        return bucket;
    }
}
