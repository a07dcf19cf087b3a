package io.lakestream.log;

import io.lakestream.LakestreamException;

/** A stream was opened with a world size other than the one it was created with. */
public final class WorldSizeMismatchException extends LakestreamException {
    private final int streamWorldSize;
    private final int requested;

    public WorldSizeMismatchException(String stream, int streamWorldSize, int requested) {
        super("stream " + stream + " was created with world size " + streamWorldSize + ", but world size " + requested
                + " was requested", stream);
        this.streamWorldSize = streamWorldSize;
        this.requested = requested;
    }

    /** The world size the stream was created with. */
    public int streamWorldSize() {
        return streamWorldSize;
    }

    /** The world size asked for. */
    public int requested() {
        return requested;
    }

    /** With a hint on what to do instead (e.g. read it elastically). */
    public WorldSizeMismatchException(String stream, int streamWorldSize, int requested, String hint) {
        super("stream " + stream + " was created with world size " + streamWorldSize + ", but world size " + requested
                + " was requested; " + hint, stream);
        this.streamWorldSize = streamWorldSize;
        this.requested = requested;
    }
}
