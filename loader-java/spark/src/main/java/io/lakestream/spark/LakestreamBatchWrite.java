package io.lakestream.spark;

import io.lakestream.log.ManifestLog;
import io.lakestream.log.ProducerState;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.ObjectStores;
import io.lakestream.store.StreamNotFoundException;
import java.util.Map;
import org.apache.spark.sql.connector.write.BatchWrite;
import org.apache.spark.sql.connector.write.DataWriterFactory;
import org.apache.spark.sql.connector.write.PhysicalWriteInfo;
import org.apache.spark.sql.connector.write.WriterCommitMessage;

/**
 * A batch job's write. Each partition commits its own batches as it goes (a stream has no
 * job-level transaction: a trainer may read a partition's first batches while others still
 * run), so Spark's job commit has nothing left to do, and Spark's commit coordinator is not used:
 * the epoch claimed by each attempt already decides which attempt's commits count.
 */
final class LakestreamBatchWrite implements BatchWrite {
    private final SparkWriteOptions o;
    private final RowMapping mapping;

    LakestreamBatchWrite(SparkWriteOptions o, RowMapping mapping) {
        this.o = o;
        this.mapping = mapping;
    }

    @Override
    public DataWriterFactory createBatchWriterFactory(PhysicalWriteInfo info) {
        checkPartitionCount(o, info.numPartitions());
        return new LakestreamDataWriter.Factory(o, mapping, info.numPartitions());
    }

    /**
     * A re-run under the same name must split its rows into as many partitions as the first run:
     * partition p resumes producer {@code <name>-p<p>}'s cursor, and with another count the rows
     * of p are not the rows that cursor counted. Checked here, before any task starts, against
     * every partition already in the log (a task checks its own again, as a task may start
     * without this driver, e.g. a streaming re-run).
     */
    static void checkPartitionCount(SparkWriteOptions o, int parts) {
        ObjectStore opened;
        try {
            opened = ObjectStores.open(o.stream(), false);
        } catch (StreamNotFoundException e) {
            return; // a new stream (its directory does not exist yet)
        }
        try (ObjectStore store = opened) {
            Map<String, ProducerState> producers;
            try {
                producers = ManifestLog.open(store, true).state().producers();
            } catch (StreamNotFoundException e) {
                return; // a new stream
            }
            String prefix = o.name() + "-p";
            for (Map.Entry<String, ProducerState> e : producers.entrySet()) {
                String id = e.getKey();
                if (!id.startsWith(prefix) || !id.substring(prefix.length()).chars().allMatch(Character::isDigit)
                        || e.getValue().cursor() == null) {
                    continue;
                }
                SparkCursor c = SparkCursor.parse(id, e.getValue().cursor());
                if (c.batch() < 0 && c.parts() != parts) {
                    throw new InputChangedException(store.describe(), id, "job '" + o.name() + "' was run with " + c.parts()
                            + " partitions, this run has " + parts);
                }
            }
        }
    }

    @Override
    public boolean useCommitCoordinator() {
        return false;
    }

    @Override
    public void commit(WriterCommitMessage[] messages) {
        // every partition committed its batches itself
    }

    @Override
    public void abort(WriterCommitMessage[] messages) {
        // committed batches stay: a re-run with the same name resumes after them
    }
}
