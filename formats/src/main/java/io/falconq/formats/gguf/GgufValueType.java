package io.falconq.formats.gguf;

import io.falconq.formats.io.InvalidInputException;

/**
 * Type tag of a GGUF metadata value ({@code enum gguf_type} in ggml/include/gguf.h; GGUF-NOTES.md §1.2).
 * The wire id is explicit, never the ordinal.
 */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    /** {@code uint64_t len; char data[len]}. */
    STRING(8, -1),
    /** {@code uint32_t elem_type; uint64_t n; elems[n]}. */
    ARRAY(9, -1),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() {
        return id;
    }

    /** Bytes of one value on disk, or -1 for STRING and ARRAY (variable). */
    public int size() {
        return size;
    }

    /** The type with wire id {@code id}; an {@link InvalidInputException} for anything else. */
    public static GgufValueType fromId(long id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new InvalidInputException("unknown GGUF value type " + id + " (known: 0..12)");
    }
}
