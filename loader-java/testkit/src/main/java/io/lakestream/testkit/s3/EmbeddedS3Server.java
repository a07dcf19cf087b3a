package io.lakestream.testkit.s3;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.PutOptions2;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.options.PutOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;
import org.jclouds.http.HttpResponse;
import org.jclouds.http.HttpResponseException;

/**
 * A real S3 server in this JVM: S3Proxy 3.0.0 over its filesystem-nio2 backend in a temporary
 * directory, on 127.0.0.1 and a random port, with SigV4 authentication and a random key pair.
 * Used by the tests and by {@code lakestream demo --store s3}.
 *
 * <p><b>Why the blob store is wrapped.</b> S3Proxy checks {@code If-None-Match: *} by looking the
 * key up and then writing it: check-then-act, so two concurrent conditional PUTs of one key can
 * both succeed. AWS S3 makes the check and the write one atomic step, and Lakestream's commit
 * protocol depends on that. {@link AtomicConditionalBlobStore} repeats the check under a per-key
 * lock held across the write, which gives the server S3's semantics.
 */
public final class EmbeddedS3Server implements AutoCloseable {
    private final S3Proxy proxy;
    private final BlobStoreContext context;
    private final Path dir;
    private final String accessKey;
    private final String secretKey;
    private final URI endpoint;

    private EmbeddedS3Server(S3Proxy proxy, BlobStoreContext context, Path dir, String accessKey, String secretKey) {
        this.proxy = proxy;
        this.context = context;
        this.dir = dir;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    /** Starts a server storing its objects under a new temporary directory (removed on close). */
    public static EmbeddedS3Server start() {
        return start(false);
    }

    /**
     * @param ignoreUnknownHeaders accept requests with headers S3Proxy does not know (e.g. the
     *     {@code x-amz-checksum-crc32} the SDK puts on DeleteObjects) instead of answering 501.
     *     Off by default: an ignored header could be a condition the server then does not check.
     */
    public static EmbeddedS3Server start(boolean ignoreUnknownHeaders) {
        return start(ignoreUnknownHeaders, true, "filesystem-nio2");
    }

    /**
     * A server WITHOUT the atomic conditional-write wrapper: S3Proxy 3.0.0 as shipped, which
     * checks {@code If-None-Match: *} and then writes, so racing conditional writers can both win.
     * Only for tests that show Lakestream refuses such a store.
     *
     * @param backend {@code "filesystem-nio2"} or the legacy {@code "filesystem"} (which also serves
     *                half-written objects)
     */
    public static EmbeddedS3Server startUnsafe(String backend) {
        return start(false, false, backend);
    }

    private static EmbeddedS3Server start(boolean ignoreUnknownHeaders, boolean atomicConditionalWrites, String backend) {
        Path dir;
        try {
            dir = Files.createTempDirectory("lakestream-s3proxy-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a directory for the embedded S3 server: " + e, e);
        }
        Properties props = new Properties();
        props.setProperty("jclouds.filesystem.basedir", dir.toString());
        BlobStoreContext ctx = ContextBuilder.newBuilder(backend).credentials("local", "local").overrides(props).buildView(BlobStoreContext.class);
        String ak = "lakestream-" + UUID.randomUUID().toString().substring(0, 8);
        String sk = UUID.randomUUID().toString().replace("-", "");
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(atomicConditionalWrites ? new AtomicConditionalBlobStore(ctx.getBlobStore()) : ctx.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ak, sk)
                .ignoreUnknownHeaders(ignoreUnknownHeaders)
                .build();
        try {
            proxy.start();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("embedded S3 server did not start within 30 s (state " + proxy.getState() + ")");
                }
                Thread.sleep(5);
            }
        } catch (Exception e) {
            ctx.close();
            deleteTree(dir);
            throw new IllegalStateException("cannot start the embedded S3 server: " + e, e);
        }
        return new EmbeddedS3Server(proxy, ctx, dir, ak, sk);
    }

    /** http://127.0.0.1:port */
    public URI endpoint() {
        return endpoint;
    }

    /** Creates a bucket (3-63 characters: a-z, 0-9, '-'). */
    public void createBucket(String bucket) {
        context.getBlobStore().createContainerInLocation(null, bucket);
    }

    /**
     * A stream URI for {@code s3://bucket/prefix} on this server carrying everything a client
     * needs (endpoint, region, path-style, checksum mode and this server's throwaway key pair).
     * Print it with {@code ObjectStores.redact}: the query holds the key.
     */
    public String streamUri(String bucket, String prefix) {
        return "s3://" + bucket + (prefix == null || prefix.isEmpty() ? "" : "/" + prefix) + "?endpoint=" + endpoint
                + "&region=us-east-1&path_style=true&checksums=when_required&access_key=" + accessKey + "&secret_key=" + secretKey;
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            // shutting down: nothing useful to do with it
        } finally {
            context.close();
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.deleteIfExists(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }

    /**
     * Makes {@code If-None-Match: *} atomic: writes of one key are serialised by a striped lock,
     * and a conditional write re-checks existence while holding it.
     */
    public static final class AtomicConditionalBlobStore extends ForwardingBlobStore {
        private final ReentrantLock[] locks = new ReentrantLock[256];

        AtomicConditionalBlobStore(BlobStore delegate) {
            super(delegate);
            for (int i = 0; i < locks.length; i++) {
                locks[i] = new ReentrantLock();
            }
        }

        private ReentrantLock lock(String container, String name) {
            return locks[Math.floorMod((container + "/" + name).hashCode(), locks.length)];
        }

        private static boolean ifAbsent(PutOptions o) {
            return o instanceof PutOptions2 p && "*".equals(p.getIfNoneMatch());
        }

        private void checkAbsent(String container, String name) {
            if (delegate().blobExists(container, name)) {
                throw new HttpResponseException("If-None-Match: * and " + name + " exists", null,
                        HttpResponse.builder().statusCode(412).build());
            }
        }

        @Override
        public String putBlob(String container, Blob blob) {
            return putBlob(container, blob, PutOptions.NONE);
        }

        @Override
        public String putBlob(String container, Blob blob, PutOptions options) {
            String name = blob.getMetadata().getName();
            ReentrantLock l = lock(container, name);
            l.lock();
            try {
                if (ifAbsent(options)) {
                    checkAbsent(container, name);
                }
                return delegate().putBlob(container, blob, options);
            } finally {
                l.unlock();
            }
        }

        @Override
        public String completeMultipartUpload(MultipartUpload mpu, List<MultipartPart> parts) {
            ReentrantLock l = lock(mpu.containerName(), mpu.blobName());
            l.lock();
            try {
                if (ifAbsent(mpu.putOptions())) {
                    checkAbsent(mpu.containerName(), mpu.blobName());
                }
                return delegate().completeMultipartUpload(mpu, parts);
            } finally {
                l.unlock();
            }
        }

        @Override
        public void removeBlob(String container, String name) {
            ReentrantLock l = lock(container, name);
            l.lock();
            try {
                delegate().removeBlob(container, name);
            } finally {
                l.unlock();
            }
        }
    }
}
