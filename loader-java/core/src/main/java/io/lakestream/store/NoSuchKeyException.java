package io.lakestream.store;

/** The object does not exist. Never retried: asking again gives the same answer. */
public final class NoSuchKeyException extends StoreException {
    public NoSuchKeyException(String where, String key) {
        super("no such object: " + key + " in " + where, where, key, null, false);
    }
}
