package io.lakestream.store;

import io.lakestream.LakestreamException;

/** No Lakestream stream exists at a location: no directory, or no stream config in it. */
public final class StreamNotFoundException extends LakestreamException {
    public StreamNotFoundException(String stream, String why) {
        super("no Lakestream stream at " + stream + ": " + why, stream);
    }
}
