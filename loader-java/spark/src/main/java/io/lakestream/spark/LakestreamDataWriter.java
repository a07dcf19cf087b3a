package io.lakestream.spark;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.write.DataWriter;
import org.apache.spark.sql.connector.write.DataWriterFactory;
import org.apache.spark.sql.connector.write.WriterCommitMessage;
import org.apache.spark.sql.connector.write.streaming.StreamingDataWriterFactory;

/** One task attempt: Spark rows into a {@link PartitionWriter}. */
final class LakestreamDataWriter implements DataWriter<InternalRow> {
    private final RowMapping mapping;
    private final PartitionWriter writer;
    private int[] buf = new int[256];
    private final int[] len = new int[1];

    LakestreamDataWriter(SparkWriteOptions o, RowMapping mapping, int partition, int parts, long microBatch) {
        this.mapping = mapping;
        this.writer = new PartitionWriter(o, partition, parts, microBatch, env(o));
    }

    /** Fail points (testing) are armed in a task's first attempt only, so its retry can finish. */
    private static StreamEnv env(SparkWriteOptions o) {
        TaskContext tc = TaskContext.get();
        if (o.failPoints() == null || (tc != null && tc.attemptNumber() > 0)) {
            return StreamEnv.defaults();
        }
        return StreamEnv.defaults().withFailPoints(FailPoints.parse(o.failPoints()));
    }

    @Override
    public void write(InternalRow row) {
        long id = mapping.recordId(row, writer.rows());
        buf = mapping.tokens(row, id, buf, len);
        writer.write(id, buf, len[0]);
    }

    @Override
    public WriterCommitMessage commit() {
        return new Committed(writer.finish());
    }

    @Override
    public void abort() {
        // nothing to undo: batches committed so far stay committed, and the next attempt resumes after them
    }

    @Override
    public void close() {
        writer.close();
    }

    /** What the driver learns from a successful attempt. */
    record Committed(PartitionWriter.Stats stats) implements WriterCommitMessage {}

    /** Creates the attempts of a batch job's partitions (or of a micro-batch's); shipped to the executors. */
    record Factory(SparkWriteOptions options, RowMapping mapping, int parts) implements DataWriterFactory, StreamingDataWriterFactory {
        @Override
        public DataWriter<InternalRow> createWriter(int partitionId, long taskId) {
            return new LakestreamDataWriter(options, mapping, partitionId, parts, -1);
        }

        @Override
        public DataWriter<InternalRow> createWriter(int partitionId, long taskId, long epochId) {
            return new LakestreamDataWriter(options, mapping, partitionId, parts, epochId);
        }
    }
}
