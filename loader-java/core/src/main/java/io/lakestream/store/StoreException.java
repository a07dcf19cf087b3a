package io.lakestream.store;

/** A store operation failed. Always names the store location and the key involved. */
public class StoreException extends RuntimeException {
    private final String key;

    public StoreException(String message, String key, Throwable cause) {
        super(message, cause);
        this.key = key;
    }

    public StoreException(String message, String key) {
        this(message, key, null);
    }

    /** The key the operation was about, or null for store-wide failures. */
    public String key() {
        return key;
    }
}
