package io.lakestream.store.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/** The direct client's HTTP/1.1 on canned bytes: what it accepts, what it hands to the SDK, what it calls broken. */
class HttpRangeConnectionTest {
    private static final DirectTarget TARGET = DirectTarget.of("localhost", 9000, false, "bucket", true, "us-east-1",
            StaticCredentialsProvider.create(AwsBasicCredentials.create("AKID", "secret")), 1_000);

    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private int transportCloses;

    /** A connection whose server answers {@code response}, at most {@code perRead} bytes per read. */
    private HttpRangeConnection answering(byte[] response, int perRead) throws IOException {
        InputStream in = new ByteArrayInputStream(response) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, perRead));
            }
        };
        return new HttpRangeConnection(TARGET, in, sent, () -> transportCloses++);
    }

    private HttpRangeConnection answering(byte[] response) throws IOException {
        return answering(response, Integer.MAX_VALUE);
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    private static byte[] concat(String head, byte[] body) {
        return concat(head.getBytes(StandardCharsets.US_ASCII), body);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static byte[] partial(long first, byte[] body, String extraHeaders) {
        return concat("HTTP/1.1 206 Partial Content\r\nContent-Length: " + body.length + "\r\nContent-Range: bytes " + first + "-"
                + (first + body.length - 1) + "/1000000\r\n" + extraHeaders + "\r\n", body);
    }

    @Test
    void aPartialContentAnswerGoesIntoTheCallersMemoryAndKeepsTheConnection() throws Exception {
        byte[] body = bytes(200_000, 1); // several receive buffers' worth
        for (int perRead : new int[] {Integer.MAX_VALUE, 4096, 7}) {
            byte[] dst = new byte[body.length];
            HttpRangeConnection c = answering(partial(500, body, "ETag: \"x\"\r\n"), perRead);
            assertTrue(c.readRange(MemorySegment.ofArray(dst), 500, false), "reusable, reading " + perRead + " at a time");
            assertArrayEquals(body, dst);
        }
    }

    @Test
    void twoAnswersInARowOnOneConnection() throws Exception {
        byte[] a = bytes(100, 2);
        byte[] b = bytes(300, 3);
        byte[] both = concat(partial(0, a, ""), partial(100, b, ""));
        HttpRangeConnection c = answering(both, 64);
        byte[] da = new byte[a.length];
        byte[] db = new byte[b.length];
        assertTrue(c.readRange(MemorySegment.ofArray(da), 0, true));
        assertTrue(c.readRange(MemorySegment.ofArray(db), 100, false));
        assertArrayEquals(a, da);
        assertArrayEquals(b, db);
    }

    @Test
    void connectionCloseOrBytesBeyondTheBodyMakeItNotReusable() throws Exception {
        byte[] body = bytes(50, 4);
        assertFalse(answering(partial(0, body, "Connection: close\r\n")).readRange(MemorySegment.ofArray(new byte[50]), 0, false));
        byte[] trailing = concat(partial(0, body, ""), "junk".getBytes(StandardCharsets.US_ASCII));
        byte[] dst = new byte[50];
        assertFalse(answering(trailing).readRange(MemorySegment.ofArray(dst), 0, false), "the server said more than it promised");
        assertArrayEquals(body, dst);
    }

    @Test
    void aPartialContentAnswerOfAnotherRangeIsAProtocolError() throws Exception {
        byte[] body = bytes(100, 5);
        // right length, wrong bytes: a range starting elsewhere
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> answering(partial(0, body, "")).readRange(MemorySegment.ofArray(new byte[100]), 400, false));
        assertTrue(e.getMessage().contains("bytes 400-499"), e.getMessage());
        String noRange = "HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\n\r\n";
        assertThrows(ProtocolException.class, () -> answering(concat(noRange, body)).readRange(MemorySegment.ofArray(new byte[100]), 0, false));
        String unsatisfied = "HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes */1000\r\n\r\n";
        assertThrows(ProtocolException.class, () -> answering(concat(unsatisfied, body)).readRange(MemorySegment.ofArray(new byte[100]), 0, false));
    }

    @Test
    void aWholeObjectAnswerIsTakenOnlyForARangeFromZero() throws Exception {
        byte[] body = bytes(64, 6);
        byte[] ok = concat("HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n", body);
        byte[] dst = new byte[64];
        assertTrue(answering(ok).readRange(MemorySegment.ofArray(dst), 0, true));
        assertArrayEquals(body, dst);
        UnexpectedResponse u = assertThrows(UnexpectedResponse.class, () -> answering(ok).readRange(MemorySegment.ofArray(new byte[64]), 0, false));
        assertTrue(u.reusable(), "its short body was drained");
    }

    @Test
    void otherAnswersGoToTheSdkReusableWhenTheirBodyWasReadWhole() throws Exception {
        String error = "<Error><Code>InvalidRange</Code></Error>";
        byte[] notSatisfiable = ("HTTP/1.1 416 Requested Range Not Satisfiable\r\nContent-Length: " + error.length() + "\r\n\r\n" + error)
                .getBytes(StandardCharsets.US_ASCII);
        assertTrue(assertThrows(UnexpectedResponse.class, () -> answering(notSatisfiable, 5).readRange(MemorySegment.ofArray(new byte[10]), 0, false)).reusable());
        byte[] closing = ("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        assertFalse(assertThrows(UnexpectedResponse.class, () -> answering(closing).readRange(MemorySegment.ofArray(new byte[10]), 0, false)).reusable());
        byte[] cutShort = ("HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\nonly this").getBytes(StandardCharsets.US_ASCII);
        assertFalse(assertThrows(UnexpectedResponse.class, () -> answering(cutShort).readRange(MemorySegment.ofArray(new byte[10]), 0, false)).reusable());
        byte[] wrongLength = partial(0, bytes(20, 7), "");
        assertTrue(assertThrows(UnexpectedResponse.class, () -> answering(wrongLength).readRange(MemorySegment.ofArray(new byte[10]), 0, false)).reusable(),
                "a 206 of another length: not the plain answer");
    }

    @Test
    void chunkedNoLengthOversizedOrGarbledHeadsAreNotThePlainAnswer() throws Exception {
        byte[] chunked = "HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] noLength = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII);
        byte[] hugeHead = ("HTTP/1.1 206 Partial Content\r\nX-Pad: " + "p".repeat(HttpRangeConnection.CHUNK) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] garbled = "SPDY/9 2x6 Weird\r\nContent-Length: 5\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII);
        for (byte[] r : new byte[][] {chunked, noLength, hugeHead}) {
            assertFalse(assertThrows(UnexpectedResponse.class, () -> answering(r).readRange(MemorySegment.ofArray(new byte[5]), 0, true)).reusable());
        }
        assertThrows(UnexpectedResponse.class, () -> answering(garbled).readRange(MemorySegment.ofArray(new byte[5]), 0, true));
    }

    @Test
    void aConnectionThatEndsEarlyIsAnIoError() throws Exception {
        byte[] full = partial(0, bytes(1000, 8), "");
        IOException inBody = assertThrows(IOException.class,
                () -> answering(Arrays.copyOf(full, full.length - 1), 100).readRange(MemorySegment.ofArray(new byte[1000]), 0, false));
        assertTrue(inBody.getMessage().contains("999 of 1000"), inBody.getMessage());
        IOException inHead = assertThrows(IOException.class,
                () -> answering(Arrays.copyOf(full, 20)).readRange(MemorySegment.ofArray(new byte[1000]), 0, false));
        assertTrue(inHead.getMessage().contains("before the response head"), inHead.getMessage());
        assertThrows(IOException.class, () -> answering(new byte[0]).readObject());
    }

    @Test
    void wholeObjectReadsTellPresentFromAbsent() throws Exception {
        byte[] body = bytes(3000, 9);
        HttpRangeConnection present = answering(concat("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n", body), 1000);
        assertArrayEquals(body, present.readObject().orElseThrow());
        assertTrue(present.lastKeepAlive());

        String noKey = "<Error><Code>NoSuchKey</Code><Key>k</Key></Error>";
        HttpRangeConnection absent = answering(("HTTP/1.1 404 Not Found\r\nContent-Length: " + noKey.length() + "\r\nConnection: close\r\n\r\n" + noKey)
                .getBytes(StandardCharsets.US_ASCII), 3);
        assertEquals(Optional.empty(), absent.readObject());
        assertFalse(absent.lastKeepAlive());

        String noBucket = "<Error><Code>NoSuchBucket</Code></Error>";
        byte[] bucketMissing = ("HTTP/1.1 404 Not Found\r\nContent-Length: " + noBucket.length() + "\r\n\r\n" + noBucket).getBytes(StandardCharsets.US_ASCII);
        assertTrue(assertThrows(UnexpectedResponse.class, () -> answering(bucketMissing).readObject()).reusable(), "not 'absent': the SDK reports it");
    }

    @Test
    void closeClosesTheTransport() throws Exception {
        answering(new byte[0]).close();
        assertEquals(1, transportCloses);
    }

    @Test
    void theRequestIsTheSignedGetOfTheRange() throws Exception {
        answering(new byte[0]).request("pre/a key+1", 5, 9);
        String req = sent.toString(StandardCharsets.US_ASCII);
        assertTrue(req.startsWith("GET /bucket/pre/a%20key%2B1 HTTP/1.1\r\nHost: localhost:9000\r\nRange: bytes=5-9\r\n"), req);
        assertTrue(req.endsWith("\r\n\r\n"), req);
        Matcher date = Pattern.compile("\r\nx-amz-date: (\\d{8}T\\d{6}Z)\r\n").matcher(req);
        assertTrue(date.find(), req);
        byte[] expected = new SigV4Signer("us-east-1", "/bucket", "localhost:9000").sign("pre/a key+1", 5, 9, date.group(1), "secret", null);
        assertTrue(req.contains("Authorization: AWS4-HMAC-SHA256 Credential=AKID/" + date.group(1).substring(0, 8)
                + "/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature="
                + new String(expected, StandardCharsets.US_ASCII) + "\r\n"), req);
        assertEquals(64, expected.length, "hex of a SHA-256 HMAC");
    }

    @Test
    void aWholeObjectRequestHasNoRangeAndCarriesTheSessionToken() throws Exception {
        DirectTarget virtualHost = DirectTarget.of("s3.example.com", 443, true, "bkt", false, "eu-west-1",
                StaticCredentialsProvider.create(AwsSessionCredentials.create("AKID", "secret", "tok")), 1_000);
        new HttpRangeConnection(virtualHost, new ByteArrayInputStream(new byte[0]), sent, () -> { }).request("k", -1, -1);
        String req = sent.toString(StandardCharsets.US_ASCII);
        assertTrue(req.startsWith("GET /k HTTP/1.1\r\nHost: bkt.s3.example.com\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"), req);
        assertFalse(req.contains("Range:"), req);
        assertTrue(req.contains("\r\nx-amz-security-token: tok\r\n"), req);
        assertTrue(req.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "), req);
    }
}
