package io.lakestream.source;

/**
 * A resumable source of fixed-length samples: what a producer turns into global batches.
 *
 * <p>The contract that makes producers exactly-once: after {@link #seek seek(c)} with a cursor
 * {@code c} that {@link #cursor()} returned earlier, the source yields exactly the samples it
 * yielded after {@code c} the first time, byte for byte. A producer stores the cursor after each
 * global batch in the log and seeks there after a restart.
 */
public interface SampleSource extends AutoCloseable {
    /** Tokens per sample. */
    int seqLen();

    /**
     * True when samples pack several records (documents) or parts of them; batches then carry
     * {@code last_record_id} next to {@code record_id}.
     */
    boolean packed();

    /** Moves to {@code cursor}, a value {@link #cursor()} returned before; null means the start. */
    void seek(String cursor);

    /** Appends the next sample to {@code out}; false (and nothing appended) when exhausted. */
    boolean next(SampleBatch out);

    /** The position after the last sample {@link #next} returned. */
    String cursor();

    /** What it reads, for messages. */
    String describe();

    @Override
    default void close() {}
}
