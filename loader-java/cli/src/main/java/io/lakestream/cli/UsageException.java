package io.lakestream.cli;

/**
 * A command's arguments are wrong (a malformed option value, a mixture naming a source the
 * producer lacks): exit 2, as picocli's own usage errors, and nothing was committed.
 */
final class UsageException extends IllegalArgumentException {
    UsageException(String message) {
        super(message);
    }

    UsageException(IllegalArgumentException cause) {
        super(cause.getMessage(), cause);
    }
}
