package io.lakestream.spark;

import org.apache.spark.sql.connector.write.PhysicalWriteInfo;
import org.apache.spark.sql.connector.write.WriterCommitMessage;
import org.apache.spark.sql.connector.write.streaming.StreamingDataWriterFactory;
import org.apache.spark.sql.connector.write.streaming.StreamingWrite;

/**
 * A Structured Streaming query's write: micro-batch {@code b}'s partition {@code p} resumes
 * producer {@code <name>-p<p>} at the cursor of micro-batch {@code b}, so a micro-batch that
 * Spark runs again after a failure or a restart from its checkpoint commits each row once.
 */
final class LakestreamStreamingWrite implements StreamingWrite {
    private final SparkWriteOptions o;
    private final RowMapping mapping;

    LakestreamStreamingWrite(SparkWriteOptions o, RowMapping mapping) {
        this.o = o;
        this.mapping = mapping;
    }

    @Override
    public StreamingDataWriterFactory createStreamingWriterFactory(PhysicalWriteInfo info) {
        return new LakestreamDataWriter.Factory(o, mapping, info.numPartitions());
    }

    @Override
    public boolean useCommitCoordinator() {
        return false;
    }

    @Override
    public void commit(long epochId, WriterCommitMessage[] messages) {
        // every partition committed its batches itself
    }

    @Override
    public void abort(long epochId, WriterCommitMessage[] messages) {
        // committed batches stay: Spark runs the micro-batch again and it resumes after them
    }
}
