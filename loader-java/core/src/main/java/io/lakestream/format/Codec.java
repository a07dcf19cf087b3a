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
        for (Codec c : values()) {
            if (c.id.equals(s)) {
                return c;
            }
        }
        throw new FormatException(where + ": unknown codec '" + s + "'");
    }
}
