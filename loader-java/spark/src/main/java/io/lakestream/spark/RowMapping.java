package io.lakestream.spark;

import java.io.Serializable;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * How a row becomes a sample: the record id column ({@code long} or {@code int}) and the tokens
 * column ({@code array<int>}, {@code array<short>} or {@code array<long>} whose values fit the
 * stored dtype). Any other column is an error, not silently dropped: select the two columns.
 */
final class RowMapping implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int idIndex;
    private final boolean idIsLong;
    private final int tokensIndex;
    private final char tokenKind; // 'i' int, 's' short, 'l' long
    private final String tokensColumn;
    private final String idColumn;

    private RowMapping(int idIndex, boolean idIsLong, int tokensIndex, char tokenKind, String tokensColumn, String idColumn) {
        this.idIndex = idIndex;
        this.idIsLong = idIsLong;
        this.tokensIndex = tokensIndex;
        this.tokenKind = tokenKind;
        this.tokensColumn = tokensColumn;
        this.idColumn = idColumn;
    }

    static StructType defaultSchema(String idColumn, String tokensColumn) {
        return new StructType().add(idColumn, DataTypes.LongType, false)
                .add(tokensColumn, DataTypes.createArrayType(DataTypes.IntegerType, false), false);
    }

    /** Checks {@code schema} against the options; the message names the column and what it should be. */
    static RowMapping of(StructType schema, SparkWriteOptions o) {
        int id = -1;
        int tok = -1;
        StructField[] fields = schema.fields();
        for (int i = 0; i < fields.length; i++) {
            String n = fields[i].name();
            if (n.equalsIgnoreCase(o.recordIdColumn())) {
                id = i;
            } else if (n.equalsIgnoreCase(o.tokensColumn())) {
                tok = i;
            } else {
                throw new IllegalArgumentException("lakestream: column '" + n + "' has no mapping; the sink writes a '"
                        + o.recordIdColumn() + "' (long) and a '" + o.tokensColumn() + "' (array<int>) column only: select them"
                        + " (schema: " + schema.simpleString() + ")");
            }
        }
        if (id < 0 || tok < 0) {
            throw new IllegalArgumentException("lakestream: the DataFrame needs a '" + o.recordIdColumn() + "' column (long) and a '"
                    + o.tokensColumn() + "' column (array<int>) (options recordIdColumn, tokensColumn); it has "
                    + schema.simpleString());
        }
        DataType idType = fields[id].dataType();
        if (!idType.equals(DataTypes.LongType) && !idType.equals(DataTypes.IntegerType)) {
            throw new IllegalArgumentException("lakestream: column '" + fields[id].name() + "' must be long or int, is "
                    + idType.simpleString());
        }
        DataType t = fields[tok].dataType();
        char kind;
        if (t instanceof ArrayType a && a.elementType().equals(DataTypes.IntegerType)) {
            kind = 'i';
        } else if (t instanceof ArrayType a && a.elementType().equals(DataTypes.ShortType)) {
            kind = 's';
        } else if (t instanceof ArrayType a && a.elementType().equals(DataTypes.LongType)) {
            kind = 'l';
        } else {
            throw new IllegalArgumentException("lakestream: column '" + fields[tok].name() + "' must be array<int>, array<short> or"
                    + " array<long>, is " + t.simpleString());
        }
        return new RowMapping(id, idType.equals(DataTypes.LongType), tok, kind, fields[tok].name(), fields[id].name());
    }

    long recordId(InternalRow row, long rowIndex) {
        if (row.isNullAt(idIndex)) {
            throw new IllegalArgumentException("lakestream: row " + rowIndex + " of the partition has a null '" + idColumn + "'");
        }
        return idIsLong ? row.getLong(idIndex) : row.getInt(idIndex);
    }

    /** The row's tokens into {@code buf} (grown as needed, returned); their count in {@code len[0]}. */
    int[] tokens(InternalRow row, long recordId, int[] buf, int[] len) {
        if (row.isNullAt(tokensIndex)) {
            throw new IllegalArgumentException("lakestream: the row with " + idColumn + " " + recordId + " has a null '" + tokensColumn + "'");
        }
        ArrayData a = row.getArray(tokensIndex);
        int n = a.numElements();
        if (buf.length < n) {
            buf = Arrays.copyOf(buf, Math.max(n, buf.length * 2));
        }
        for (int i = 0; i < n; i++) {
            if (a.isNullAt(i)) {
                throw new IllegalArgumentException("lakestream: the row with " + idColumn + " " + recordId + " has a null token at " + i);
            }
            buf[i] = switch (tokenKind) {
                case 'i' -> a.getInt(i);
                case 's' -> a.getShort(i);
                default -> {
                    long v = a.getLong(i);
                    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException("lakestream: token " + v + " at " + i + " of the row with " + idColumn + " "
                                + recordId + " does not fit an int");
                    }
                    yield (int) v;
                }
            };
        }
        len[0] = n;
        return buf;
    }
}
