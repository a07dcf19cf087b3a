package io.lakestream.cli;

import io.lakestream.log.StreamClosedException;
import io.lakestream.log.CommitStateUnknownException;
import io.lakestream.producer.ProducerFencedException;
import io.lakestream.reader.ReaderTimeoutException;
import io.lakestream.store.InvalidStreamUriException;

/** Maps failures, by type, to one clear line and an exit code. */
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
        if (t instanceof CommitStateUnknownException) {
            return "commit outcome unknown: " + m;
        }
        return m;
    }

    static int exitCode(Throwable t) {
        return switch (t) {
            case ProducerFencedException f -> Main.EXIT_FENCED;
            case ReaderTimeoutException r -> Main.EXIT_TIMEOUT;
            case InvalidStreamUriException u -> Main.EXIT_USAGE;
            case UsageException u -> Main.EXIT_USAGE;
            case CommitStateUnknownException c -> Main.EXIT_COMMIT_UNKNOWN;
            case StreamClosedException c -> Main.EXIT_CLOSED;
            default -> Main.EXIT_ERROR;
        };
    }
}
