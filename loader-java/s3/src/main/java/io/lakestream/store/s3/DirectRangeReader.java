package io.lakestream.store.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.Optional;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

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
 */
final class DirectRangeReader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DirectRangeReader.class.getName());
    private static final int CHUNK = 64 << 10;
    private static final int MAX_IDLE = 32;
    private static final int FAILURES_TO_GIVE_UP = 3;
    private static final String UNSIGNED = SigV4Signer.UNSIGNED;
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final String host;          // DNS name or address to connect to
    private final int port;
    private final boolean tls;
    private final String hostHeader;    // host[:port] as signed and sent
    private final String pathPrefix;    // "/bucket" (path style) or ""
    private final String region;
    private final AwsCredentialsProvider credentials;
    private final int timeoutMillis;
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    private volatile boolean disabled;
    private final java.util.concurrent.atomic.AtomicInteger failuresInARow = new java.util.concurrent.atomic.AtomicInteger();
    /** Reads done by the fast path (the rest went through the SDK). */
    final java.util.concurrent.atomic.LongAdder reads = new java.util.concurrent.atomic.LongAdder();
    /** Whole-object GETs answered by the fast path. */
    final java.util.concurrent.atomic.LongAdder gets = new java.util.concurrent.atomic.LongAdder();
    private boolean closed;

    private DirectRangeReader(String host, int port, boolean tls, String bucket, boolean pathStyle, String region,
                              AwsCredentialsProvider credentials, int timeoutMillis) {
        this.tls = tls;
        this.port = port;
        this.region = region;
        this.credentials = credentials;
        this.timeoutMillis = timeoutMillis;
        boolean defaultPort = port == (tls ? 443 : 80);
        String h = pathStyle ? host : bucket + "." + host;
        this.host = h;
        this.hostHeader = defaultPort ? h : h + ":" + port;
        this.pathPrefix = pathStyle ? "/" + encode(bucket) : "";
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
        return new DirectRangeReader(ep.getHost(), port, tls, c.bucket(), pathStyle, resolvedRegion, credentials, timeout);
    }

    /**
     * Reads {@code dst.byteSize()} bytes of {@code fullKey} (the key with the store's prefix)
     * from {@code offset} into {@code dst}. Returns false, having written nothing that counts,
     * when the fast path could not do it: the caller then reads through the SDK.
     */
    boolean read(String fullKey, long offset, MemorySegment dst) {
        if (disabled) {
            return false;
        }
        long want = dst.byteSize();
        Connection conn = null;
        boolean reusable = false;
        try {
            conn = take();
            conn.request(fullKey, offset, offset + want - 1);
            reusable = conn.readBody(dst, offset == 0);
            failuresInARow.set(0);
            reads.increment();
            return true;
        } catch (Unexpected e) {
            reusable = e.reusable;
            return false; // an answer the SDK path knows how to treat (404, 416, 403, 301, ...)
        } catch (IOException | RuntimeException e) {
            noteFailure(e);
            return false;
        } finally {
            if (conn != null) {
                if (reusable) {
                    give(conn);
                } else {
                    conn.close();
                }
            }
        }
    }

    /**
     * The whole object at {@code fullKey}, empty if there is none (a 404 NoSuchKey), or null when
     * the fast path could not tell: the caller asks the SDK. The manifest's followers and
     * committers ask for the next version this way, mostly to hear that it does not exist yet,
     * which through the SDK is an exception with its stack (and its garbage) every time.
     */
    Optional<byte[]> getIfPresent(String fullKey) {
        if (disabled) {
            return null;
        }
        Connection conn = null;
        boolean reusable = false;
        try {
            conn = take();
            conn.request(fullKey, -1, -1);
            Optional<byte[]> found = conn.readObject();
            reusable = conn.lastKeepAlive;
            failuresInARow.set(0);
            gets.increment();
            return found;
        } catch (Unexpected e) {
            reusable = e.reusable;
            return null;
        } catch (IOException | RuntimeException e) {
            noteFailure(e);
            return null;
        } finally {
            if (conn != null) {
                if (reusable) {
                    give(conn);
                } else {
                    conn.close();
                }
            }
        }
    }

    private void noteFailure(Exception e) {
        if (failuresInARow.incrementAndGet() >= FAILURES_TO_GIVE_UP && !disabled) {
            disabled = true;
            LOG.log(System.Logger.Level.INFO, "reads from " + hostHeader + " go through the SDK from now on: "
                    + FAILURES_TO_GIVE_UP + " direct reads in a row failed, the last with " + e);
        }
    }

    private Connection take() throws IOException {
        synchronized (idle) {
            Connection c = idle.pollLast();
            if (c != null) {
                return c;
            }
        }
        return new Connection();
    }

    private void give(Connection c) {
        synchronized (idle) {
            if (!closed && idle.size() < MAX_IDLE) {
                idle.addLast(c);
                return;
            }
        }
        c.close();
    }

    @Override
    public void close() {
        synchronized (idle) {
            closed = true;
            for (Connection c : idle) {
                c.close();
            }
            idle.clear();
        }
    }

    /** An answer other than the plain one; {@code reusable}: the connection is still in a clean state. */
    private static final class Unexpected extends Exception {
        final boolean reusable;

        Unexpected(boolean reusable) {
            super(null, null, false, false);
            this.reusable = reusable;
        }
    }

    /** URI-encodes a key for the path (S3's single encoding: unreserved characters and '/' stay). */
    static String encode(String key) {
        StringBuilder b = new StringBuilder(key.length() + 8);
        SigV4Signer.appendEncoded(b, key);
        return b.toString();
    }

    /** One kept-alive connection with its reused buffers and signing machinery (used by one thread at a time). */
    private final class Connection {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final byte[] buf = new byte[CHUNK];
        private int bufStart;
        private int bufEnd;
        private final StringBuilder text = new StringBuilder(1024);
        private byte[] ascii = new byte[1024];
        private final SigV4Signer signer;
        private long dateSecond = Long.MIN_VALUE;
        private String amzDate;
        private String date;

        Connection() throws IOException {
            signer = new SigV4Signer(region, pathPrefix, hostHeader);
            Socket s;
            if (tls) {
                SSLSocket ssl = (SSLSocket) SSLSocketFactory.getDefault().createSocket();
                ssl.connect(new InetSocketAddress(host, port), timeoutMillis);
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
                ssl.startHandshake();
                s = ssl;
            } else {
                s = new Socket();
                s.connect(new InetSocketAddress(host, port), timeoutMillis);
            }
            s.setTcpNoDelay(true);
            s.setSoTimeout(timeoutMillis);
            socket = s;
            in = s.getInputStream();
            out = s.getOutputStream();
        }

        /** Sends the signed GET of {@code [first, last]} ({@code first < 0}: the whole object). */
        void request(String fullKey, long first, long last) throws IOException {
            boolean ranged = first >= 0;
            AwsCredentials creds = credentials.resolveCredentials();
            String token = creds instanceof AwsSessionCredentials sc ? sc.sessionToken() : null;
            long now = System.currentTimeMillis() / 1000;
            if (now != dateSecond) {
                dateSecond = now;
                amzDate = AMZ_DATE.format(Instant.ofEpochSecond(now));
                date = amzDate.substring(0, 8); // yyyyMMdd
            }
            byte[] signature = signer.sign(fullKey, first, last, amzDate, creds.secretAccessKey(), token);
            StringBuilder t = text;
            // the request
            t.setLength(0);
            t.append("GET ").append(pathPrefix).append('/');
            SigV4Signer.appendEncoded(t, fullKey);
            t.append(" HTTP/1.1\r\nHost: ").append(hostHeader);
            if (ranged) {
                t.append("\r\nRange: bytes=").append(first).append('-').append(last);
            }
            t.append("\r\nx-amz-content-sha256: ").append(UNSIGNED).append("\r\nx-amz-date: ").append(amzDate).append("\r\n");
            if (token != null) {
                t.append("x-amz-security-token: ").append(token).append("\r\n");
            }
            t.append("Authorization: AWS4-HMAC-SHA256 Credential=").append(creds.accessKeyId()).append('/').append(date).append('/')
                    .append(region).append("/s3/aws4_request, SignedHeaders=").append(SigV4Signer.signedHeaders(ranged, token != null))
                    .append(", Signature=");
            for (byte b : signature) {
                t.append((char) b);
            }
            t.append("\r\n\r\n");
            out.write(ascii(t), 0, t.length());
            out.flush();
        }

        /**
         * Reads the answer: headers, then the body into {@code dst}. Returns whether the
         * connection can be reused.
         */
        boolean readBody(MemorySegment dst, boolean wholeObjectOk) throws IOException, Unexpected {
            int headerEnd = readHeaders();
            int status = status(buf);
            long length = headerLong(buf, headerEnd, "content-length");
            boolean keepAlive = !headerContains(buf, headerEnd, "connection", "close");
            long want = dst.byteSize();
            if (!(status == 206 || (status == 200 && wholeObjectOk)) || length != want) {
                // drain a short error body to keep the connection; otherwise drop it
                throw new Unexpected(keepAlive && skip(length, headerEnd));
            }
            return body(dst, want, headerEnd, keepAlive);
        }

        /**
         * Reads a whole-object answer: the bytes (200), empty (404 NoSuchKey). Returns null-free
         * results only for those; anything else is {@link Unexpected}.
         */
        Optional<byte[]> readObject() throws IOException, Unexpected {
            int headerEnd = readHeaders();
            int status = status(buf);
            long length = headerLong(buf, headerEnd, "content-length");
            boolean keepAlive = !headerContains(buf, headerEnd, "connection", "close");
            if (status == 404 && length >= 0 && length <= CHUNK) {
                int start = headerEnd;
                boolean clean = skip(length, headerEnd);
                if (clean && contains(buf, start, bufEnd, "<Code>NoSuchKey</Code>")) {
                    lastKeepAlive = keepAlive;
                    return Optional.empty();
                }
                throw new Unexpected(keepAlive && clean); // NoSuchBucket, or a body we could not read whole
            }
            if (status != 200 || length < 0 || length > Integer.MAX_VALUE - 16) {
                throw new Unexpected(keepAlive && skip(length, headerEnd));
            }
            byte[] out = new byte[(int) length];
            lastKeepAlive = body(MemorySegment.ofArray(out), length, headerEnd, keepAlive);
            return Optional.of(out);
        }

        /** Whether the connection may be reused after {@link #readObject}. */
        boolean lastKeepAlive;

        /** Reads the status line and headers into {@link #buf}; returns where the body starts. */
        private int readHeaders() throws IOException, Unexpected {
            bufStart = 0;
            bufEnd = 0;
            int headerEnd = -1;
            while (headerEnd < 0) {
                if (bufEnd == buf.length) {
                    throw new Unexpected(false); // headers larger than a chunk: not the plain answer
                }
                int n = in.read(buf, bufEnd, buf.length - bufEnd);
                if (n < 0) {
                    throw new IOException("connection closed before the response headers");
                }
                bufEnd += n;
                headerEnd = indexOfBlankLine(buf, bufEnd);
            }
            if (headerContains(buf, headerEnd, "transfer-encoding", "chunked") || headerLong(buf, headerEnd, "content-length") < 0) {
                throw new Unexpected(false);
            }
            return headerEnd;
        }

        /** The body of {@code want} bytes into {@code dst}: what came with the headers, then chunk by chunk. */
        private boolean body(MemorySegment dst, long want, int headerEnd, boolean keepAlive) throws IOException {
            long done = 0;
            int already = Math.min(bufEnd - headerEnd, (int) Math.min(Integer.MAX_VALUE, want));
            MemorySegment.copy(buf, headerEnd, dst, ValueLayout.JAVA_BYTE, 0, already);
            done += already;
            while (done < want) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, want - done));
                if (n < 0) {
                    throw new IOException("connection closed after " + done + " of " + want + " body bytes");
                }
                MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_BYTE, done, n);
                done += n;
            }
            return keepAlive && headerEnd + already == bufEnd;
        }

        /** Skips a small body already (or soon) received; whether the connection is clean after it. */
        private boolean skip(long length, int headerEnd) throws IOException {
            if (length < 0 || length > CHUNK) {
                return false;
            }
            long have = bufEnd - headerEnd;
            while (have < length) {
                if (bufEnd == buf.length) {
                    return false;
                }
                int n = in.read(buf, bufEnd, (int) Math.min(buf.length - bufEnd, length - have));
                if (n < 0) {
                    return false;
                }
                bufEnd += n;
                have += n;
            }
            return have == length;
        }

        private void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }

        private byte[] ascii(StringBuilder t) {
            ascii = SigV4Signer.ascii(t, ascii);
            return ascii;
        }
    }

    private static boolean contains(byte[] b, int from, int to, String word) {
        outer:
        for (int i = from; i + word.length() <= to; i++) {
            for (int j = 0; j < word.length(); j++) {
                if (b[i + j] != word.charAt(j)) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static int indexOfBlankLine(byte[] b, int end) {
        for (int i = 3; i < end; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /** The status code of "HTTP/1.1 206 Partial Content". */
    private static int status(byte[] b) {
        int sp = 0;
        while (sp < b.length && b[sp] != ' ') {
            sp++;
        }
        if (sp + 3 >= b.length) {
            return -1;
        }
        int s = 0;
        for (int i = sp + 1; i < sp + 4; i++) {
            if (b[i] < '0' || b[i] > '9') {
                return -1;
            }
            s = s * 10 + (b[i] - '0');
        }
        return s;
    }

    /** Start of the value of header {@code name} (lower case) within the header block, or -1. */
    private static int headerValue(byte[] b, int end, String name) {
        int line = 0;
        while (line < end && b[line] != '\n') {
            line++;
        }
        line++; // skip the status line
        while (line < end) {
            int i = 0;
            while (i < name.length() && line + i < end && Character.toLowerCase((char) b[line + i]) == name.charAt(i)) {
                i++;
            }
            if (i == name.length() && line + i < end && b[line + i] == ':') {
                int v = line + i + 1;
                while (v < end && b[v] == ' ') {
                    v++;
                }
                return v;
            }
            while (line < end && b[line] != '\n') {
                line++;
            }
            line++;
        }
        return -1;
    }

    private static long headerLong(byte[] b, int end, String name) {
        int v = headerValue(b, end, name);
        if (v < 0) {
            return -1;
        }
        long n = 0;
        int digits = 0;
        while (v < end && b[v] >= '0' && b[v] <= '9' && digits < 18) {
            n = n * 10 + (b[v++] - '0');
            digits++;
        }
        return digits == 0 ? -1 : n;
    }

    private static boolean headerContains(byte[] b, int end, String name, String word) {
        int v = headerValue(b, end, name);
        if (v < 0) {
            return false;
        }
        int lineEnd = v;
        while (lineEnd < end && b[lineEnd] != '\r' && b[lineEnd] != '\n') {
            lineEnd++;
        }
        outer:
        for (int i = v; i + word.length() <= lineEnd; i++) {
            for (int j = 0; j < word.length(); j++) {
                if (Character.toLowerCase((char) b[i + j]) != word.charAt(j)) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
