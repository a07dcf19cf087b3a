package io.lakestream.store.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HttpHeadTest {
    private static byte[] head(String fields) {
        return ("HTTP/1.1 206 Partial Content\r\n" + fields + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static boolean range(String value, long first, long last) {
        byte[] h = head("Content-Range: " + value + "\r\n");
        return HttpHead.contentRangeIs(h, h.length, first, last);
    }

    @Test
    void findsTheEndOfTheHeadOnlyOnceItIsComplete() {
        byte[] h = head("A: b\r\n");
        assertEquals(h.length, HttpHead.end(h, h.length));
        assertEquals(-1, HttpHead.end(h, h.length - 1));
    }

    @Test
    void statusLine() {
        byte[] ok = head("");
        assertEquals(206, HttpHead.status(ok, ok.length));
        byte[] bad = "HTTP/1.1 2x6 Nope\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(-1, HttpHead.status(bad, bad.length));
        byte[] none = "HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(-1, HttpHead.status(none, 3), "no space within the head");
    }

    @Test
    void headerNamesMatchWholeAndIgnoringCase() {
        byte[] h = head("X-Content-Length: 7\r\nContent-Length-Extra: 8\r\nCONTENT-LENGTH:   42\r\nConnection: Keep-Alive, CLOSE\r\n");
        assertEquals(42, HttpHead.longValue(h, h.length, "content-length"));
        assertTrue(HttpHead.contains(h, h.length, "connection", "close"));
        assertFalse(HttpHead.contains(h, h.length, "transfer-encoding", "chunked"));
        byte[] notANumber = head("Content-Length: abc\r\n");
        assertEquals(-1, HttpHead.longValue(notANumber, notANumber.length, "content-length"));
    }

    @Test
    void contentRangeMustBeExactlyTheRangeAskedFor() {
        assertTrue(range("bytes 0-99/1000", 0, 99));
        assertTrue(range("bytes 100-199/*", 100, 199));
        assertTrue(range("Bytes 5-5/6", 5, 5));
        assertFalse(range("bytes 0-98/1000", 0, 99));
        assertFalse(range("bytes 1-100/1000", 0, 99));
        assertFalse(range("bytes */1000", 0, 99));
        assertFalse(range("bytes 0-99", 0, 99), "no complete-length part");
        assertFalse(range("items 0-99/1000", 0, 99));
        assertFalse(range("bytes -99/1000", 0, 99));
        byte[] none = head("Content-Length: 100\r\n");
        assertFalse(HttpHead.contentRangeIs(none, none.length, 0, 99));
    }
}
