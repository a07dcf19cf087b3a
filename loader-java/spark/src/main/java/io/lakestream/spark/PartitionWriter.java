package io.lakestream.spark;

import io.lakestream.StreamEnv;
import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.store.StreamNotFoundException;
import io.lakestream.producer.TgbProducer;
import io.lakestream.source.SampleBatch;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;

/**
 * One task attempt's producer: the rows of one partition (of one micro-batch, streaming) in,
 * whole global batches out, exactly once. Engine-neutral (no Spark types), so the Spark
 * writers stay thin.
 *
 * <p>The first row opens the producer {@code <name>-p<partition>}, which claims a new epoch and
 * so fences every earlier or concurrent attempt of the partition (their next commit fails with
 * {@link io.lakestream.producer.ProducerFencedException}); the claim returns the committed
 * cursor, atomically with the fence, so this attempt skips exactly the rows already committed
 * and re-derives their fingerprint to prove they are the same rows. Each global batch is
 * {@code worldSize x microBatch} samples of this partition's rows, committed with the cursor
 * after it; the partition's last batch may be smaller (spread evenly over the ranks).
 */
final class PartitionWriter implements AutoCloseable {
    private final SparkWriteOptions o;
    private final int partition;
    private final int parts;
    private final long microBatchId;
    private final StreamEnv env;
    private final String producerId;
    private final int perStep;
    private final SampleBatch batch;
    private final int[] sample; // packed: the sample being filled
    private int filled;
    private long sampleFirst;
    private long lastRecord; // packed: the last row with tokens in the sample being filled

    private ObjectStore store;
    private TgbProducer producer;
    private boolean skipAll; // the committed cursor is past this micro-batch
    private long skipRows;
    private int skipTok;
    private long expectFp;

    private long row; // rows seen (skipped or written)
    private long fp; // fingerprint of the rows fully consumed
    private long rowsWritten;
    private long rowsSkipped;
    private long steps;

    /**
     * @param parts        partitions of this write (of this micro-batch)
     * @param microBatchId the micro-batch (epoch) id of a streaming write; -1 for a batch job
     */
    PartitionWriter(SparkWriteOptions o, int partition, int parts, long microBatchId, StreamEnv env) {
        this.o = o;
        this.partition = partition;
        this.parts = parts;
        this.microBatchId = microBatchId;
        this.env = env;
        this.producerId = o.producerId(partition);
        this.perStep = Math.multiplyExact(o.worldSize(), o.microBatch());
        this.batch = new SampleBatch(o.seqLen(), perStep, o.dtype());
        this.sample = o.packed() ? new int[o.seqLen()] : null;
    }

    private void open() {
        store = ObjectStores.open(o.stream(), true);
        producer = TgbProducer.open(store, producerId, o.template(), o.producerOptions(), env);
        SparkCursor c = SparkCursor.parse(producerId, producer.committedCursor());
        if (c != null && (c.batch() < 0) != (microBatchId < 0)) {
            throw new InputChangedException(store.describe(), producerId, "name '" + o.name() + "' was written by a "
                    + (c.batch() < 0 ? "batch job" : "streaming query") + ", now by a " + (microBatchId < 0 ? "batch job" : "streaming query"));
        }
        if (c == null || c.batch() < microBatchId) {
            return; // nothing of this (micro-)batch committed yet: start at row 0
        }
        if (c.batch() > microBatchId) {
            skipAll = true; // a later micro-batch started, so this one completed: Spark re-ran a committed batch
            return;
        }
        if (c.parts() != parts) {
            throw new InputChangedException(store.describe(), producerId, "it was written by a run of " + c.parts()
                    + " partitions, this run has " + parts);
        }
        skipRows = c.row();
        skipTok = c.tok();
        expectFp = c.fp();
        if (skipRows == 0 && expectFp != 0) {
            throw new InputChangedException(store.describe(), producerId, "cursor fingerprint without rows");
        }
    }

    /** One row: its record id and its tokens {@code tokens[0..len)}. */
    void write(long recordId, int[] tokens, int len) {
        if (producer == null) {
            open();
        }
        if (skipAll) {
            row++;
            rowsSkipped++;
            return;
        }
        if (row < skipRows) {
            fp = SparkCursor.fold(fp, recordId, len);
            row++;
            rowsSkipped++;
            if (row == skipRows && fp != expectFp) {
                throw new InputChangedException(store.describe(), producerId, "its first " + skipRows
                        + " rows (committed) no longer have the same record ids and lengths (fingerprint " + Long.toHexString(fp)
                        + ", committed " + Long.toHexString(expectFp) + ", last row's record_id " + recordId + ")");
            }
            return;
        }
        if (!o.packed()) {
            if (len != o.seqLen()) {
                throw new IllegalArgumentException("row with " + o.recordIdColumn() + " " + recordId + " of partition " + partition
                        + " has " + len + " tokens in column '" + o.tokensColumn() + "'; lengths=fixed needs exactly seqLen="
                        + o.seqLen() + " (use lengths=packed to concatenate rows)");
            }
            batch.add(tokens, 0, recordId, recordId);
            fp = SparkCursor.fold(fp, recordId, len);
            row++;
            rowsWritten++;
            if (batch.size() == perStep) {
                emit(row, 0);
            }
            return;
        }
        int total = len + (o.eod() >= 0 ? 1 : 0);
        int at = 0;
        if (row == skipRows && skipTok > 0) {
            if (skipTok >= total) {
                throw new InputChangedException(store.describe(), producerId, "row " + row + " (record_id " + recordId + ") has "
                        + total + " tokens, the committed cursor is at its token " + skipTok);
            }
            at = skipTok;
        }
        while (at < total) {
            if (filled == 0) {
                sampleFirst = recordId;
            }
            lastRecord = recordId;
            int n = Math.min(o.seqLen() - filled, total - at);
            int fromTokens = Math.min(n, Math.max(0, len - at));
            System.arraycopy(tokens, at, sample, filled, fromTokens);
            if (fromTokens < n) {
                sample[filled + fromTokens] = o.eod(); // the row's end-of-document token
            }
            filled += n;
            at += n;
            boolean rowDone = at == total;
            if (rowDone) {
                fp = SparkCursor.fold(fp, recordId, len);
                row++;
                rowsWritten++;
            }
            if (filled == o.seqLen()) {
                batch.add(sample, 0, sampleFirst, recordId);
                filled = 0;
                if (batch.size() == perStep) {
                    if (rowDone) {
                        emit(row, 0);
                    } else {
                        emit(row, at);
                    }
                }
            }
        }
        if (total == 0) { // an empty row without eod: consumed, contributes nothing
            fp = SparkCursor.fold(fp, recordId, len);
            row++;
            rowsWritten++;
        }
    }

    /** Appends the gathered global batch with the cursor (rows fully consumed, tokens of the next). */
    private void emit(long rows, int tok) {
        producer.append(batch.shards(o.worldSize(), o.packed()), new SparkCursor(parts, microBatchId, rows, tok, fp).format());
        steps++;
        batch.clear();
    }

    /**
     * Ends the partition: commits its last (partial, padded) batch and everything queued. An
     * attempt that was fenced throws {@link io.lakestream.producer.ProducerFencedException} here
     * (or from the {@link #write} whose append found the failure).
     */
    Stats finish() {
        if (producer == null) {
            checkNothingCommitted();
        } else if (!skipAll) {
            if (row < skipRows) {
                throw new InputChangedException(store.describe(), producerId, "it has " + row
                        + " rows now, but " + skipRows + " were committed");
            }
            if (filled > 0) {
                java.util.Arrays.fill(sample, filled, o.seqLen(), o.pad());
                batch.add(sample, 0, sampleFirst, lastRecord);
                filled = 0;
            }
            if (batch.size() > 0) {
                emit(row, 0);
            }
            producer.commit();
        }
        return new Stats(producerId, partition, microBatchId, producer == null ? 0 : producer.epoch(), rowsWritten, rowsSkipped, steps);
    }

    /**
     * A partition without rows opens no producer (no epoch claim, no log commit), but if a
     * previous run committed rows of it, its input changed: read the log to tell.
     */
    private void checkNothingCommitted() {
        try (ObjectStore s = ObjectStores.open(o.stream(), false)) {
            ProducerState st = ManifestLog.open(s, true).state().producer(producerId);
            SparkCursor c = st == null ? null : SparkCursor.parse(producerId, st.cursor());
            if (c != null && c.batch() == microBatchId && c.row() > 0) {
                throw new InputChangedException(s.describe(), producerId, "it has no rows now, but " + c.row() + " were committed");
            }
        } catch (StreamNotFoundException e) {
            // nothing was ever written
        }
    }

    /** Rows handed to {@link #write}, so far. */
    long rows() {
        return row;
    }

    @Override
    public void close() {
        try {
            if (producer != null) {
                producer.close();
            }
        } finally {
            if (store != null) {
                store.close();
            }
        }
    }

    /** What one attempt did: the Spark writers report it to the driver as their commit message. */
    record Stats(String producer, int partition, long microBatch, long epoch, long rowsWritten, long rowsSkipped, long steps)
            implements java.io.Serializable {}
}
