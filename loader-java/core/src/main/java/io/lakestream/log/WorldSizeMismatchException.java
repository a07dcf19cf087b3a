package io.lakestream.log;

/** A stream was opened with a world size other than the one it was created with. */
public final class WorldSizeMismatchException extends IllegalArgumentException {
    public WorldSizeMismatchException(String stream, int streamWorldSize, int requested) {
        super("stream " + stream + " was created with world size " + streamWorldSize + ", but world size " + requested
                + " was requested");
    }

    /** With a hint on what to do instead (e.g. read it elastically). */
    public WorldSizeMismatchException(String stream, int streamWorldSize, int requested, String hint) {
        super("stream " + stream + " was created with world size " + streamWorldSize + ", but world size " + requested
                + " was requested; " + hint);
    }
}
