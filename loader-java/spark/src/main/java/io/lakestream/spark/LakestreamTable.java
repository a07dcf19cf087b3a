package io.lakestream.spark;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.connector.catalog.SupportsWrite;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.write.BatchWrite;
import org.apache.spark.sql.connector.write.LogicalWriteInfo;
import org.apache.spark.sql.connector.write.Write;
import org.apache.spark.sql.connector.write.WriteBuilder;
import org.apache.spark.sql.connector.write.streaming.StreamingWrite;
import org.apache.spark.sql.types.StructType;

/** A stream as a write-only Spark table: appends only (a stream is never truncated or overwritten). */
final class LakestreamTable implements SupportsWrite {
    private final StructType schema;
    private final Map<String, String> properties;

    LakestreamTable(StructType schema, Map<String, String> properties) {
        this.schema = schema;
        this.properties = properties;
    }

    @Override
    public String name() {
        return "lakestream(" + properties.getOrDefault("stream", properties.getOrDefault("path", "?")) + ")";
    }

    @Override
    @SuppressWarnings("deprecation")
    public StructType schema() {
        return schema;
    }

    @Override
    public Set<TableCapability> capabilities() {
        // ACCEPT_ANY_SCHEMA: the DataFrame's columns are mapped (and checked) by RowMapping, not by Spark's resolver
        return EnumSet.of(TableCapability.BATCH_WRITE, TableCapability.STREAMING_WRITE, TableCapability.ACCEPT_ANY_SCHEMA);
    }

    @Override
    public WriteBuilder newWriteBuilder(LogicalWriteInfo info) {
        SparkWriteOptions o = SparkWriteOptions.parse(info.options().asCaseSensitiveMap());
        RowMapping mapping = RowMapping.of(info.schema(), o);
        Write write = new Write() {
            @Override
            public String description() {
                return "lakestream " + io.lakestream.store.ObjectStores.redact(o.stream()) + " as '" + o.name() + "'";
            }

            @Override
            public BatchWrite toBatch() {
                return new LakestreamBatchWrite(o, mapping);
            }

            @Override
            public StreamingWrite toStreaming() {
                return new LakestreamStreamingWrite(o, mapping);
            }
        };
        return new WriteBuilder() {
            @Override
            public Write build() {
                return write;
            }
        };
    }
}
