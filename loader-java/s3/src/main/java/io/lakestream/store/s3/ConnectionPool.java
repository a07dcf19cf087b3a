package io.lakestream.store.s3;

import java.io.IOException;
import java.util.ArrayDeque;

/**
 * Kept-alive connections of one store, each used by one thread at a time: {@link #take} lends an
 * idle one (the most recently returned: its socket is the likeliest to still be open on the
 * server's side) or opens a new one; {@link #give} returns it for reuse, {@link #discard} drops
 * one in an unknown state. At most {@code maxIdle} wait; the rest are closed on return.
 */
final class ConnectionPool<C extends ConnectionPool.Pooled> implements AutoCloseable {

    /** A pooled connection: closing must not throw (there is nothing a caller could do). */
    interface Pooled {
        void close();
    }

    /** Opens a new connection. */
    interface Opener<C> {
        C open() throws IOException;
    }

    private final Opener<C> opener;
    private final int maxIdle;
    private final ArrayDeque<C> idle = new ArrayDeque<>();
    private boolean closed;

    ConnectionPool(Opener<C> opener, int maxIdle) {
        this.opener = opener;
        this.maxIdle = maxIdle;
    }

    /** An idle connection, or a new one (also after {@link #close}: it is then closed on return). */
    C take() throws IOException {
        synchronized (idle) {
            C c = idle.pollLast();
            if (c != null) {
                return c;
            }
        }
        return opener.open(); // outside the lock: a connect or a TLS handshake must not hold up the others
    }

    /** Returns a connection in a clean state (its last answer read whole) for reuse. */
    void give(C c) {
        synchronized (idle) {
            if (!closed && idle.size() < maxIdle) {
                idle.addLast(c);
                return;
            }
        }
        c.close();
    }

    /** Closes a connection that may still hold part of an answer: it must never serve another request. */
    void discard(C c) {
        c.close();
    }

    int idleCount() {
        synchronized (idle) {
            return idle.size();
        }
    }

    /** Closes the idle connections; those lent out are closed when they come back. */
    @Override
    public void close() {
        synchronized (idle) {
            closed = true;
            for (C c : idle) {
                c.close();
            }
            idle.clear();
        }
    }
}
