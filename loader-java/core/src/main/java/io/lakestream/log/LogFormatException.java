package io.lakestream.log;

import io.lakestream.format.FormatException;

/** A manifest file (config, version, snapshot, index segment) is malformed or inconsistent. */
public final class LogFormatException extends FormatException {
    public LogFormatException(String message) {
        super(message);
    }

    public LogFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** About log file {@code key} of {@code stream}. */
    public LogFormatException(String message, String stream, String key, Throwable cause) {
        super(message, stream, key, cause);
    }
}
