package io.lakestream.store;

import io.lakestream.LakestreamException;

/**
 * A stream URI that cannot name a stream: malformed, an unknown scheme, a relative file path, a
 * bad S3 bucket or parameter. {@link #stream()} is the URI with its query (which may hold
 * credentials) cut off.
 */
public final class InvalidStreamUriException extends LakestreamException {
    public InvalidStreamUriException(String redactedUri, String message) {
        super(message, redactedUri);
    }
}
