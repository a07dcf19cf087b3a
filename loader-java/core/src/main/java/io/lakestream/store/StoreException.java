package io.lakestream.store;

import io.lakestream.LakestreamException;

/**
 * A store operation failed. Always names the store location and the key involved, and says
 * whether trying again may help ({@link #isRetryable()}: network trouble, throttling, I/O errors)
 * or not (an impossible range, a missing feature).
 */
public class StoreException extends LakestreamException {
    private final String key;
    private final boolean retryable;

    public StoreException(String message, String key, Throwable cause, boolean retryable) {
        this(message, null, key, cause, retryable);
    }

    /** A failure of the store at {@code stream} (its location), about {@code key}. */
    public StoreException(String message, String stream, String key, Throwable cause, boolean retryable) {
        super(message, stream, cause);
        this.key = key;
        this.retryable = retryable;
    }

    /** A retryable failure. */
    public StoreException(String message, String key, Throwable cause) {
        this(message, key, cause, true);
    }

    /** A retryable failure. */
    public StoreException(String message, String key) {
        this(message, key, null, true);
    }

    /** The key the operation was about, or null for store-wide failures. */
    public String key() {
        return key;
    }

    /** Whether the same call may succeed if tried again. */
    public boolean isRetryable() {
        return retryable;
    }
}
