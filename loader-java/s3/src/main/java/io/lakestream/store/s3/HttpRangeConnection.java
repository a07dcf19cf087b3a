package io.lakestream.store.s3;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/**
 * The direct client's HTTP/1.1 over one kept-alive connection: writes a SigV4-signed {@code GET}
 * (with a {@code Range}, or of the whole object) and parses the answer - status line, head,
 * {@code Content-Length} and {@code Content-Range} - reading the body in chunks through one
 * reused buffer straight into the caller's memory. Used by one thread at a time.
 *
 * <p>It accepts only the plain answer; anything else is an {@link UnexpectedResponse} (a
 * well-formed answer for the SDK to treat, the connection reusable if its body was read whole)
 * or an {@link IOException} (a broken or lying connection, to be closed).
 */
final class HttpRangeConnection implements ConnectionPool.Pooled {
    /** The receive buffer: a response head must fit in it, the body goes through it. */
    static final int CHUNK = 64 << 10;
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final DirectTarget target;
    private final Closeable transport;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[CHUNK];
    private int bufEnd;
    private final StringBuilder text = new StringBuilder(1024);
    private byte[] ascii = new byte[1024];
    private final SigV4Signer signer;
    private long dateSecond = Long.MIN_VALUE;
    private String amzDate;
    private String date;
    private boolean lastKeepAlive;

    /** Speaks over {@code in}/{@code out}; closing it closes {@code transport}. */
    HttpRangeConnection(DirectTarget target, InputStream in, OutputStream out, Closeable transport) throws IOException {
        this.target = target;
        this.in = in;
        this.out = out;
        this.transport = transport;
        this.signer = new SigV4Signer(target.region(), target.pathPrefix(), target.hostHeader());
    }

    /** Connects (and shakes hands, for TLS) to the target. */
    static HttpRangeConnection open(DirectTarget t) throws IOException {
        Socket s;
        if (t.tls()) {
            SSLSocket ssl = (SSLSocket) SSLSocketFactory.getDefault().createSocket();
            s = ssl;
            try {
                ssl.connect(new InetSocketAddress(t.host(), t.port()), t.timeoutMillis());
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
                ssl.startHandshake();
            } catch (IOException | RuntimeException e) {
                ssl.close();
                throw e;
            }
        } else {
            s = new Socket();
            try {
                s.connect(new InetSocketAddress(t.host(), t.port()), t.timeoutMillis());
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
        s.setTcpNoDelay(true);
        s.setSoTimeout(t.timeoutMillis());
        return new HttpRangeConnection(t, s.getInputStream(), s.getOutputStream(), s);
    }

    /** Sends the signed GET of {@code [first, last]} ({@code first < 0}: the whole object). */
    void request(String fullKey, long first, long last) throws IOException {
        boolean ranged = first >= 0;
        AwsCredentials creds = target.credentials().resolveCredentials();
        String token = creds instanceof AwsSessionCredentials sc ? sc.sessionToken() : null;
        long now = System.currentTimeMillis() / 1000;
        if (now != dateSecond) {
            dateSecond = now;
            amzDate = AMZ_DATE.format(Instant.ofEpochSecond(now));
            date = amzDate.substring(0, 8); // yyyyMMdd
        }
        byte[] signature = signer.sign(fullKey, first, last, amzDate, creds.secretAccessKey(), token);
        StringBuilder t = text;
        t.setLength(0);
        t.append("GET ").append(target.pathPrefix()).append('/');
        SigV4Signer.appendEncoded(t, fullKey);
        t.append(" HTTP/1.1\r\nHost: ").append(target.hostHeader());
        if (ranged) {
            t.append("\r\nRange: bytes=").append(first).append('-').append(last);
        }
        t.append("\r\nx-amz-content-sha256: ").append(SigV4Signer.UNSIGNED).append("\r\nx-amz-date: ").append(amzDate).append("\r\n");
        if (token != null) {
            t.append("x-amz-security-token: ").append(token).append("\r\n");
        }
        t.append("Authorization: AWS4-HMAC-SHA256 Credential=").append(creds.accessKeyId()).append('/').append(date).append('/')
                .append(target.region()).append("/s3/aws4_request, SignedHeaders=").append(SigV4Signer.signedHeaders(ranged, token != null))
                .append(", Signature=");
        for (byte b : signature) {
            t.append((char) b);
        }
        t.append("\r\n\r\n");
        ascii = SigV4Signer.ascii(t, ascii);
        out.write(ascii, 0, t.length());
        out.flush();
    }

    /**
     * Reads the answer to a ranged request of {@code dst.byteSize()} bytes from {@code first}:
     * the head, then the body into {@code dst}. {@code wholeObjectOk}: a 200 (the server ignored
     * the range) is fine, because the range started at 0 and the object is exactly that long.
     * Returns whether the connection can be reused.
     */
    boolean readRange(MemorySegment dst, long first, boolean wholeObjectOk) throws IOException, UnexpectedResponse {
        int headEnd = readHead();
        int status = HttpHead.status(buf, headEnd);
        long length = HttpHead.longValue(buf, headEnd, "content-length");
        boolean keepAlive = !HttpHead.contains(buf, headEnd, "connection", "close");
        long want = dst.byteSize();
        if (!(status == 206 || (status == 200 && wholeObjectOk)) || length != want) {
            // drain a short error body to keep the connection; otherwise drop it
            throw new UnexpectedResponse(keepAlive && skip(length, headEnd));
        }
        if (status == 206 && !HttpHead.contentRangeIs(buf, headEnd, first, first + want - 1)) {
            throw new ProtocolException("206 for bytes " + first + "-" + (first + want - 1) + " without that Content-Range");
        }
        return body(dst, want, headEnd, keepAlive);
    }

    /**
     * Reads the answer to a whole-object request: the bytes (200), or empty (404 NoSuchKey);
     * anything else is {@link UnexpectedResponse}. Afterwards {@link #lastKeepAlive} says whether
     * the connection can be reused.
     */
    Optional<byte[]> readObject() throws IOException, UnexpectedResponse {
        int headEnd = readHead();
        int status = HttpHead.status(buf, headEnd);
        long length = HttpHead.longValue(buf, headEnd, "content-length");
        boolean keepAlive = !HttpHead.contains(buf, headEnd, "connection", "close");
        if (status == 404 && length >= 0 && length <= CHUNK) {
            boolean clean = skip(length, headEnd);
            if (clean && HttpHead.bodyContains(buf, headEnd, bufEnd, "<Code>NoSuchKey</Code>")) {
                lastKeepAlive = keepAlive;
                return Optional.empty();
            }
            throw new UnexpectedResponse(keepAlive && clean); // NoSuchBucket, or a body we could not read whole
        }
        if (status != 200 || length < 0 || length > Integer.MAX_VALUE - 16) {
            throw new UnexpectedResponse(keepAlive && skip(length, headEnd));
        }
        byte[] bytes = new byte[(int) length];
        lastKeepAlive = body(MemorySegment.ofArray(bytes), length, headEnd, keepAlive);
        return Optional.of(bytes);
    }

    /** Whether the connection may be reused after {@link #readObject}. */
    boolean lastKeepAlive() {
        return lastKeepAlive;
    }

    /** Reads the status line and head fields into {@link #buf}; returns where the body starts. */
    private int readHead() throws IOException, UnexpectedResponse {
        bufEnd = 0;
        int headEnd = -1;
        while (headEnd < 0) {
            if (bufEnd == buf.length) {
                throw new UnexpectedResponse(false); // a head larger than a chunk: not the plain answer
            }
            int n = in.read(buf, bufEnd, buf.length - bufEnd);
            if (n < 0) {
                throw new IOException("connection closed before the response head");
            }
            bufEnd += n;
            headEnd = HttpHead.end(buf, bufEnd);
        }
        if (HttpHead.contains(buf, headEnd, "transfer-encoding", "chunked") || HttpHead.longValue(buf, headEnd, "content-length") < 0) {
            throw new UnexpectedResponse(false);
        }
        return headEnd;
    }

    /** The body of {@code want} bytes into {@code dst}: what came with the head, then chunk by chunk. */
    private boolean body(MemorySegment dst, long want, int headEnd, boolean keepAlive) throws IOException {
        long done = 0;
        int already = Math.min(bufEnd - headEnd, (int) Math.min(Integer.MAX_VALUE, want));
        MemorySegment.copy(buf, headEnd, dst, ValueLayout.JAVA_BYTE, 0, already);
        done += already;
        while (done < want) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, want - done));
            if (n < 0) {
                throw new IOException("connection closed after " + done + " of " + want + " body bytes");
            }
            MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_BYTE, done, n);
            done += n;
        }
        // bytes beyond the body with the head: the server said more than it promised, do not reuse
        return keepAlive && headEnd + already == bufEnd;
    }

    /** Skips a small body already (or soon) received; whether the connection is clean after it. */
    private boolean skip(long length, int headEnd) throws IOException {
        if (length < 0 || length > CHUNK) {
            return false;
        }
        long have = bufEnd - headEnd;
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

    @Override
    public void close() {
        try {
            transport.close();
        } catch (IOException ignored) {
            // the connection is dropped either way
        }
    }
}
