package io.falconq.formats.safetensors;

import io.falconq.formats.gguf.GgmlType;

import java.util.Optional;

/**
 * Element types of a safetensors file, spelled as in the header's {@code "dtype"} field.
 *
 * <p>Constants are declared in the order of the reference {@code enum Dtype} in huggingface/safetensors
 * {@code safetensors/src/tensor.rs}, and {@link #sortRank()} repeats that order explicitly: the reference writer
 * ({@code prepare}) sorts tensors by that enum's derived {@code Ord}, descending, then by name. Sub-byte types
 * (F4, F6) are sized in bits, as {@code Dtype::bitsize} does.
 */
public enum SafetensorsDtype {
    BOOL(0, 8, null),
    F4(1, 4, null),
    F6_E2M3(2, 6, null),
    F6_E3M2(3, 6, null),
    U8(4, 8, null),
    I8(5, 8, GgmlType.I8),
    F8_E5M2(6, 8, null),
    F8_E4M3(7, 8, null),
    F8_E8M0(8, 8, null),
    F8_E4M3FNUZ(9, 8, null),
    F8_E5M2FNUZ(10, 8, null),
    I16(11, 16, GgmlType.I16),
    U16(12, 16, null),
    F16(13, 16, GgmlType.F16),
    BF16(14, 16, GgmlType.BF16),
    I32(15, 32, GgmlType.I32),
    U32(16, 32, null),
    F32(17, 32, GgmlType.F32),
    C64(18, 64, null),
    F64(19, 64, GgmlType.F64),
    I64(20, 64, GgmlType.I64),
    U64(21, 64, null);

    private final int sortRank;
    private final int bitSize;
    private final GgmlType ggmlType;

    SafetensorsDtype(int sortRank, int bitSize, GgmlType ggmlType) {
        this.sortRank = sortRank;
        this.bitSize = bitSize;
        this.ggmlType = ggmlType;
    }

    /** Position in the reference {@code Dtype} declaration; the writer orders tensors by this, descending. */
    public int sortRank() {
        return sortRank;
    }

    public int bitSize() {
        return bitSize;
    }

    /** Bytes per element; only for whole-byte types (not F4, F6_*). */
    public int byteSize() {
        if (bitSize % 8 != 0) {
            throw new IllegalStateException(name() + " is a sub-byte type (" + bitSize + " bits per element)");
        }
        return bitSize / 8;
    }

    /** The ggml type with the same element encoding, if there is one (F32, F16, BF16, F64, I8, I16, I32, I64). */
    public Optional<GgmlType> ggmlType() {
        return Optional.ofNullable(ggmlType);
    }

    /**
     * Bytes taken by {@code elements} elements, or -1 if the arithmetic overflows a signed 64-bit value, or -2 if
     * the bit count is not a whole number of bytes (the reference's {@code MisalignedSlice}).
     */
    public long bytesFor(long elements) {
        if (elements < 0) {
            return -1;
        }
        long bits;
        try {
            bits = Math.multiplyExact(elements, (long) bitSize);
        } catch (ArithmeticException e) {
            return -1;
        }
        return bits % 8 == 0 ? bits / 8 : -2;
    }

    /** The dtype named {@code name} exactly as the header spells it, if known. */
    public static Optional<SafetensorsDtype> fromName(String name) {
        for (SafetensorsDtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** The safetensors dtype that stores {@code type}'s elements, if {@code type} is a plain element type. */
    public static Optional<SafetensorsDtype> of(GgmlType type) {
        for (SafetensorsDtype d : values()) {
            if (d.ggmlType == type) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }
}
