package io.lakestream.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** What a producer or reader job drives, one per thread: Lakestream's or Kafka's client. */
final class Clients {
    private Clients() {}

    /** One producer: hands over global steps and makes them durable/acknowledged on flush. */
    interface Sink extends AutoCloseable {
        /** Hands over step {@code index} of {@code payload}, stamped with the current wall clock. */
        void send(long index) throws Exception;

        /** Returns once everything sent is committed (Lakestream) or acknowledged (Kafka). */
        void flush() throws Exception;

        /** Client-side counters for the result (commits, conflicts, ...). */
        Map<String, Object> stats();

        @Override
        void close() throws Exception;
    }

    /** One rank's reader (Lakestream) or one partition's consumer (Kafka). */
    interface Source extends AutoCloseable {
        /** Waits up to {@code timeoutMillis} for the next rank shard; fills {@code out}; false on timeout. */
        boolean take(long timeoutMillis, Delivery out) throws Exception;

        @Override
        void close() throws Exception;
    }

    /** What a {@link Source} delivered: the stamp and how many payload bytes. */
    static final class Delivery {
        long index;
        long stampNanos;
        long bytes;
    }

    @FunctionalInterface
    interface SinkFactory {
        /** Producer {@code producer} (0-based) of a job configured by {@code cfg}. */
        Sink open(JsonNode cfg, int producer, Payload payload) throws Exception;
    }

    @FunctionalInterface
    interface SourceFactory {
        Source open(JsonNode cfg, int rank) throws Exception;
    }
}
