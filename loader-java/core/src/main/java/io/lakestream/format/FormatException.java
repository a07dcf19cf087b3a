package io.lakestream.format;

/** Bytes that do not follow the Lakestream on-store format. The message names the object. */
public class FormatException extends RuntimeException {
    public FormatException(String message) {
        super(message);
    }

    public FormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
