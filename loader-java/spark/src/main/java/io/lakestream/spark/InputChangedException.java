package io.lakestream.spark;

import io.lakestream.LakestreamException;

/**
 * A re-run (a retried task, a restarted query, a job run again under the same name) does not see
 * the input the committed cursor was written for: resuming would skip or repeat rows, so the
 * writer refuses. Run the changed input under a new {@code name}.
 */
public final class InputChangedException extends LakestreamException {
    private final String producer;

    public InputChangedException(String stream, String producer, String message) {
        super("producer '" + producer + "' on " + stream + ": " + message
                + "; the input changed since the committed cursor was written, so resuming would skip or repeat rows"
                + " (write changed input under a new lakestream option 'name')", stream);
        this.producer = producer;
    }

    public String producer() {
        return producer;
    }
}
