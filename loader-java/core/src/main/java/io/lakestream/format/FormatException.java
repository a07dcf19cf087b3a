package io.lakestream.format;

import io.lakestream.LakestreamException;

/**
 * Bytes that do not follow the Lakestream on-store format: a corrupt or malformed object. The
 * message names the object (and step and rank where known).
 */
public class FormatException extends LakestreamException {
    private final String key;

    public FormatException(String message) {
        this(message, null, null, null);
    }

    public FormatException(String message, Throwable cause) {
        this(message, null, null, cause);
    }

    /**
     * @param stream the stream, or null if not known
     * @param key    the object's key, or null if not known
     */
    public FormatException(String message, String stream, String key, Throwable cause) {
        super(message, stream, cause);
        this.key = key;
    }

    /** The key of the object, or null if not known. */
    public String key() {
        return key;
    }
}
