package io.lakestream.spark;

import java.util.Map;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * {@code format("lakestream")}: a DataSource V2 sink for batch jobs
 * ({@code df.write.format("lakestream").mode("append")…save()}) and Structured Streaming
 * ({@code df.writeStream.format("lakestream")…start()}). Write-only: read a stream with the
 * readers (Java, PyTorch, the CLI). See docs/spark.md.
 */
public final class LakestreamSource implements TableProvider, DataSourceRegister {
    @Override
    public String shortName() {
        return "lakestream";
    }

    /** The documented default columns; a write uses its DataFrame's own schema (checked by {@link RowMapping}). */
    @Override
    public StructType inferSchema(CaseInsensitiveStringMap options) {
        return RowMapping.defaultSchema(options.getOrDefault("recordIdColumn", "record_id"), options.getOrDefault("tokensColumn", "tokens"));
    }

    @Override
    public boolean supportsExternalMetadata() {
        return true;
    }

    @Override
    public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
        return new LakestreamTable(schema, properties);
    }
}
