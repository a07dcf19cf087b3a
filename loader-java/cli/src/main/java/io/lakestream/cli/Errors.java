package io.lakestream.cli;

import io.lakestream.log.StreamClosedException;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.reader.ReaderTimeoutException;

/** Maps failures to one clear line and an exit code. */
final class Errors {
    private Errors() {}

    static String describe(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            m = t.getClass().getSimpleName();
        }
        if (t instanceof ProducerFencedException) {
            return "fenced: " + m;
        }
        return m;
    }

    static int exitCode(Throwable t) {
        if (t instanceof ProducerFencedException) {
            return Main.EXIT_FENCED;
        }
        if (t instanceof ReaderTimeoutException) {
            return Main.EXIT_TIMEOUT;
        }
        if (t instanceof StreamClosedException) {
            return Main.EXIT_CLOSED;
        }
        return Main.EXIT_ERROR;
    }
}
