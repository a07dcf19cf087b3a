package io.lakestream.format;

/** How a rank shard is stored in a batch object. */
public enum Codec {
    /** The safetensors blob as is. */
    NONE("none"),
    /** The blob as one LZ4 block behind a 12-byte frame header (see docs/format.md). */
    LZ4("lz4");

    private final String id;

    Codec(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Codec parse(String s, String where) {
        Codec c = byId(s);
        if (c == null) {
            throw new FormatException(where + ": unknown codec '" + s + "'");
        }
        return c;
    }

    /** The codec whose id is {@code s}, or null (no copy of {@code values()}: entries are checked per batch). */
    public static Codec byId(String s) {
        return NONE.id.equals(s) ? NONE : LZ4.id.equals(s) ? LZ4 : null;
    }
}
