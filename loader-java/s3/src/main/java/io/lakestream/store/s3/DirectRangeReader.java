package io.lakestream.store.s3;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * The read path's ranged GETs without the SDK: a SigV4-signed {@code GET} with a {@code Range}
 * header on a kept-alive HTTP/1.1 connection (TLS for https endpoints), the body read in chunks
 * through one reused buffer per connection straight into the caller's segment. The CRT client
 * hands every response body to Java as a new heap array (its JNI callback takes a
 * {@code byte[]}), which for a 256 KiB shard is 256 KiB of garbage per step; this allocates a few
 * hundred bytes per read (the signature's digests).
 *
 * <p>It takes only the plain case: a 206 (or a 200 for a whole-object range) with a
 * {@code Content-Length} of exactly the range. Anything else - another status, a chunked or
 * redirected answer, an I/O error - returns false and the caller reads through the SDK, which
 * retries, follows regions and turns errors into the store's exceptions. After a few failures
 * in a row the fast path is switched off for the store.
 *
 * <p>Its parts: {@link ConnectionPool} keeps the connections, {@link HttpRangeConnection} speaks
 * HTTP/1.1 on one, {@link FallbackSwitch} decides when to stop trying; this class only ties a
 * read to them.
 */
final class DirectRangeReader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DirectRangeReader.class.getName());
    private static final int MAX_IDLE = 32;
    private static final int FAILURES_TO_GIVE_UP = 3;

    private final DirectTarget target;
    private final ConnectionPool<HttpRangeConnection> pool;
    private final FallbackSwitch fallback = new FallbackSwitch(FAILURES_TO_GIVE_UP);
    /** Reads done by the fast path (the rest went through the SDK). */
    final LongAdder reads = new LongAdder();
    /** Whole-object GETs answered by the fast path. */
    final LongAdder gets = new LongAdder();

    private DirectRangeReader(DirectTarget target) {
        this.target = target;
        this.pool = new ConnectionPool<>(() -> HttpRangeConnection.open(target), MAX_IDLE);
    }

    /**
     * A reader for the store, or null when the fast path does not apply (no known region, a
     * bucket name that cannot be a host name, an endpoint with a path).
     */
    static DirectRangeReader create(S3Config c, String resolvedRegion, AwsCredentialsProvider credentials) {
        if (resolvedRegion == null || Boolean.getBoolean("lakestream.s3.sdkReads")) {
            return null;
        }
        URI ep = c.endpoint() != null ? c.endpoint() : URI.create("https://s3." + resolvedRegion + ".amazonaws.com");
        String scheme = ep.getScheme() == null ? "" : ep.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || ep.getHost() == null
                || (ep.getPath() != null && !ep.getPath().isEmpty() && !ep.getPath().equals("/"))) {
            return null;
        }
        boolean tls = scheme.equals("https");
        boolean pathStyle = c.pathStyle();
        if (!pathStyle && (c.bucket().contains(".") && tls)) {
            return null; // a dotted bucket does not match the wildcard certificate of virtual hosts
        }
        int port = ep.getPort() > 0 ? ep.getPort() : tls ? 443 : 80;
        int timeout = (int) Math.min(Integer.MAX_VALUE, Math.max(1_000, c.timeout().toMillis()));
        return new DirectRangeReader(DirectTarget.of(ep.getHost(), port, tls, c.bucket(), pathStyle, resolvedRegion, credentials, timeout));
    }

    /**
     * Reads {@code dst.byteSize()} bytes of {@code fullKey} (the key with the store's prefix)
     * from {@code offset} into {@code dst}. Returns false, having written nothing that counts,
     * when the fast path could not do it: the caller then reads through the SDK.
     */
    boolean read(String fullKey, long offset, MemorySegment dst) {
        if (!fallback.on()) {
            return false;
        }
        HttpRangeConnection conn = null;
        boolean reusable = false;
        try {
            conn = pool.take();
            conn.request(fullKey, offset, offset + dst.byteSize() - 1);
            reusable = conn.readRange(dst, offset, offset == 0);
            fallback.succeeded();
            reads.increment();
            return true;
        } catch (UnexpectedResponse e) {
            reusable = e.reusable();
            return false; // an answer the SDK path knows how to treat (404, 416, 403, 301, ...)
        } catch (IOException | RuntimeException e) {
            noteFailure(e);
            return false;
        } finally {
            release(conn, reusable);
        }
    }

    /**
     * The whole object at {@code fullKey}, empty if there is none (a 404 NoSuchKey), or null when
     * the fast path could not tell: the caller asks the SDK. The manifest's followers and
     * committers ask for the next version this way, mostly to hear that it does not exist yet,
     * which through the SDK is an exception with its stack (and its garbage) every time.
     */
    Optional<byte[]> getIfPresent(String fullKey) {
        if (!fallback.on()) {
            return null;
        }
        HttpRangeConnection conn = null;
        boolean reusable = false;
        try {
            conn = pool.take();
            conn.request(fullKey, -1, -1);
            Optional<byte[]> found = conn.readObject();
            reusable = conn.lastKeepAlive();
            fallback.succeeded();
            gets.increment();
            return found;
        } catch (UnexpectedResponse e) {
            reusable = e.reusable();
            return null;
        } catch (IOException | RuntimeException e) {
            noteFailure(e);
            return null;
        } finally {
            release(conn, reusable);
        }
    }

    private void release(HttpRangeConnection conn, boolean reusable) {
        if (conn == null) {
            return;
        }
        if (reusable) {
            pool.give(conn);
        } else {
            pool.discard(conn);
        }
    }

    private void noteFailure(Exception e) {
        if (fallback.failed()) {
            LOG.log(System.Logger.Level.INFO, "reads from " + target.hostHeader() + " go through the SDK from now on: "
                    + fallback.failuresToGiveUp() + " direct reads in a row failed, the last with " + e);
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
