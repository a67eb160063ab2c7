package io.falconq.core.quant;

import io.falconq.formats.io.LittleEndianLayout;

import java.lang.foreign.ValueLayout;

/** Block fields (ggml block structs are packed, multi-byte fields LE): the layouts, and byte-array access. */
final class LittleEndian {
    static final ValueLayout.OfShort SHORT = LittleEndianLayout.SHORT;
    static final ValueLayout.OfInt INT = LittleEndianLayout.INT;
    static final ValueLayout.OfFloat FLOAT = LittleEndianLayout.FLOAT;

    private LittleEndian() {
    }

    static short getShort(byte[] b, int off) {
        return (short) ((b[off] & 0xFF) | (b[off + 1] << 8));
    }

    static void putShort(byte[] b, int off, short v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >> 8);
    }

    static int getInt(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >> 8);
        b[off + 2] = (byte) (v >> 16);
        b[off + 3] = (byte) (v >> 24);
    }

    /** fp16 field at {@code off} as float ({@code GGML_FP16_TO_FP32}). */
    static float getHalf(byte[] b, int off) {
        return HalfFloat.fp16ToFp32(getShort(b, off));
    }

    /** Stores {@code GGML_FP32_TO_FP16(v)} at {@code off} and returns the stored value read back as float. */
    static float putHalf(byte[] b, int off, float v) {
        short h = HalfFloat.fp32ToFp16(v);
        putShort(b, off, h);
        return HalfFloat.fp16ToFp32(h);
    }
}
