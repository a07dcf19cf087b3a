package io.lakestream.producer;

import io.lakestream.LakestreamException;
import io.lakestream.log.ControlRecord;

/**
 * A commit found a newer control record than the one the queued batches were generated under.
 * The producer has already dropped those batches (their objects become orphans) and claimed a
 * new epoch; the caller resumes its source at {@link TgbProducer#committedCursor()} and
 * generates from there under {@link #control()}.
 */
public final class ControlChangedException extends LakestreamException {
    private final transient ControlRecord control;
    private final long generatedUnder;

    public ControlChangedException(String stream, String producer, long generatedUnder, ControlRecord control) {
        super("producer '" + producer + "' of " + stream + " generated batches under control version " + generatedUnder
                + ", but version " + control.version() + " is in force from step " + control.fromStep() + " (" + control.settings()
                + "): they were dropped; resume at the committed cursor under the new control", stream);
        this.control = control;
        this.generatedUnder = generatedUnder;
    }

    /** The control record now in force. */
    public ControlRecord control() {
        return control;
    }

    /** The control version the dropped batches were generated under. */
    public long generatedUnder() {
        return generatedUnder;
    }
}
