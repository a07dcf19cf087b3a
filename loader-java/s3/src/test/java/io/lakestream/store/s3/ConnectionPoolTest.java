package io.lakestream.store.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConnectionPoolTest {
    private static final class Fake implements ConnectionPool.Pooled {
        final int id;
        int closes;

        Fake(int id) {
            this.id = id;
        }

        @Override
        public void close() {
            closes++;
        }
    }

    private final List<Fake> opened = new ArrayList<>();

    private ConnectionPool<Fake> pool(int maxIdle) {
        return new ConnectionPool<>(() -> {
            Fake f = new Fake(opened.size());
            opened.add(f);
            return f;
        }, maxIdle);
    }

    @Test
    void opensOnlyWhenNoneIsIdleAndLendsTheLastReturnedFirst() throws IOException {
        ConnectionPool<Fake> p = pool(4);
        Fake a = p.take();
        Fake b = p.take();
        assertEquals(2, opened.size());
        p.give(a);
        p.give(b);
        assertSame(b, p.take(), "the most recently used socket is the likeliest to be open");
        assertSame(a, p.take());
        assertEquals(2, opened.size(), "both reused, none opened");
        assertEquals(0, a.closes + b.closes);
    }

    @Test
    void keepsAtMostMaxIdleAndClosesTheRestOnReturn() throws IOException {
        ConnectionPool<Fake> p = pool(2);
        Fake a = p.take();
        Fake b = p.take();
        Fake c = p.take();
        p.give(a);
        p.give(b);
        p.give(c);
        assertEquals(2, p.idleCount());
        assertEquals(List.of(0, 0, 1), List.of(a.closes, b.closes, c.closes));
    }

    @Test
    void discardClosesAndNeverLendsItAgain() throws IOException {
        ConnectionPool<Fake> p = pool(2);
        Fake a = p.take();
        p.discard(a);
        assertEquals(1, a.closes);
        assertEquals(0, p.idleCount());
        Fake next = p.take();
        assertFalse(next == a);
    }

    @Test
    void closeClosesTheIdleOnesAndThoseReturnedLater() throws IOException {
        ConnectionPool<Fake> p = pool(4);
        Fake lent = p.take();
        Fake idle = p.take();
        p.give(idle);
        p.close();
        assertEquals(1, idle.closes);
        assertEquals(0, lent.closes, "a connection in use is not closed under its reader");
        p.give(lent);
        assertEquals(1, lent.closes, "returned after close: closed, not pooled");
        assertEquals(0, p.idleCount());
    }

    @Test
    void aFailedOpenPropagatesAndPoolsNothing() {
        ConnectionPool<Fake> p = new ConnectionPool<>(() -> {
            throw new IOException("connection refused");
        }, 2);
        IOException e = assertThrows(IOException.class, p::take);
        assertTrue(e.getMessage().contains("refused"));
        assertEquals(0, p.idleCount());
    }
}
