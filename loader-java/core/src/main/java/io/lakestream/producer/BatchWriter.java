package io.lakestream.producer;

import io.lakestream.fail.FailPoints;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ManifestState;
import io.lakestream.log.ProducerState;
import io.lakestream.log.StreamClosedException;
import io.lakestream.store.ConditionalPut;
import io.lakestream.time.Threads;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a {@link TgbProducer}'s batch objects: put-if-absent of the encoded bytes under the
 * batch's fresh key, then the encode buffer goes back and the {@link BatchQueue} learns the batch
 * is written (or failed). Threaded, on its own pool of writers (which also writes the log's
 * snapshots); inline (write parallelism 0), on the appending thread.
 *
 * <p>It owns the writer pool and closes it; the encode buffers are the producer's.
 */
final class BatchWriter {
    private final ManifestLog log;
    private final String id;
    private final BatchQueue queue;
    private final Committer committer;
    private final EncodeBuffers buffers;
    /** Null: inline (no threads; the appending thread writes). */
    private final Threads.Pool writers;
    private final AtomicLong bytesWritten = new AtomicLong();

    BatchWriter(ManifestLog log, String id, BatchQueue queue, Committer committer, EncodeBuffers buffers, int parallelism) {
        this.log = log;
        this.id = id;
        this.queue = queue;
        this.committer = committer;
        this.buffers = buffers;
        if (parallelism == 0) {
            this.writers = null;
        } else {
            this.writers = log.env().threads().pool("lakestream-write-" + id, parallelism);
            log.writeSnapshotsWith(writers);
        }
    }

    /** Whether objects are written by writer threads (else inline, by the appending thread). */
    boolean threaded() {
        return writers != null;
    }

    long bytesWritten() {
        return bytesWritten.get();
    }

    /** Inline: writes {@code b}'s object on this thread; a failure fails the instance and is thrown here. */
    void writeInline(QueuedBatch b, EncodeBuffers.Buffer buf, MemorySegment object) {
        try {
            writeObject(b, object);
        } catch (RuntimeException | Error e) {
            queue.failReported(e);
            throw e;
        } finally {
            buffers.release(buf);
        }
        queue.written(b, null);
    }

    /** Threaded: hands {@code b}'s object to a writer. */
    void submit(QueuedBatch b, EncodeBuffers.Buffer buf, MemorySegment object) {
        b.toWrite(this, buf, object);
        writers.execute(b); // the batch is the task: no lambda per batch
    }

    /** A writer writes one batch object, gives its buffer back and tells the committer. */
    void writeAsync(QueuedBatch b, EncodeBuffers.Buffer buf, MemorySegment object) {
        Throwable failure = null;
        try {
            writeObject(b, object);
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            buffers.release(buf);
        }
        queue.written(b, failure);
    }

    private void writeObject(QueuedBatch b, MemorySegment object) {
        String key = b.entry.object();
        ProducerMetrics.BatchWriteEvent event = ProducerMetrics.batchWriteBegin();
        // A fresh key per (epoch, seq): put-if-absent never collides with a crashed predecessor.
        // It can find the key taken by our own earlier attempt, though: one that landed without
        // an answer, which the store's retry (S3's SDK, the file store's retry layer) then meets.
        // Identical bytes mean just that; anything else is a shared epoch. The name is made
        // durable with the group's directory sync, before a version names it (readyEntries).
        switch (ConditionalPut.put(log.store(), key, object, false)) {
            case CREATED, OURS -> { }
            case THEIRS -> throw new SharedEpochException(log.store().describe(), id, committer.epoch(), key);
            case VANISHED -> throw vanished(key);
        }
        bytesWritten.addAndGet(object.byteSize());
        ProducerMetrics.batchWritten(event, id, b.entry.epoch(), b.seq(), object.byteSize());
        log.env().failPoints().hit(FailPoints.AFTER_OBJECT_WRITE);
    }

    /**
     * Our batch object was found taken and then gone: GC reclaimed it as an orphan, which it does
     * only once this producer can no longer commit it. Say why, from the log.
     */
    private RuntimeException vanished(String key) {
        ManifestState s = log.refresh();
        ProducerState cur = s.producer(id);
        long epoch = committer.epoch();
        if (cur != null && cur.epoch() > epoch) {
            return new ProducerFencedException(log.store().describe(), id, epoch, cur.epoch());
        }
        if (s.ended()) {
            return new StreamClosedException(log.store().describe(), s.endStep(), "so batch object " + key + " of producer '" + id
                    + "' was reclaimed before it could be committed");
        }
        return new BatchObjectDeletedException(log.store().describe(), id, epoch, key, log.where(key));
    }

    /** Threaded: lets the writes in flight land, then waits for a snapshot being written on the pool. */
    void close() {
        if (writers != null) {
            writers.close();
            log.awaitSnapshots(30_000);
        }
    }
}
