package io.lakestream.format;

/**
 * Tensor element types, named as in the safetensors header. {@code U16} (unsigned 16-bit) is
 * for token ids of vocabularies under 65,536: half the bytes of {@code I32} on every path.
 */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U16(2), U8(1), BOOL(1);

    private final int size;

    DType(int size) {
        this.size = size;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    public static DType parse(String s, String where) {
        try {
            return DType.valueOf(s);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new FormatException(where + ": unknown dtype '" + s + "'");
        }
    }
}
