package io.lakestream.store;

/**
 * The store failed a property the commit protocol depends on (see {@link StoreProbe}); a stream
 * is not created on it unless the caller overrides the check explicitly (and loudly).
 */
public final class UnsafeStoreException extends StoreException {
    private final StoreProbe.Result failed;

    public UnsafeStoreException(String store, StoreProbe.Result failed) {
        super("refusing to create a stream on " + store + ": the store fails '" + failed.property() + "': " + failed.detail()
                + ". Lakestream needs it because " + failed.neededFor() + ". Run `lakestream doctor --stream URI` for the full"
                + " report; override with --unsafe-store only if you know why it fails and accept losing exactly-once", null);
        this.failed = failed;
    }

    /** The property the store failed. */
    public StoreProbe.Result failed() {
        return failed;
    }
}
