package io.falconq.core.quant;

import java.lang.foreign.MemorySegment;

/**
 * The 12-byte scale/min packing shared by Q4_K and Q5_K: eight 6-bit scales and eight 6-bit mins
 * ({@code get_scale_min_k4}, ggml-quants.c).
 */
final class KScaleMin {
    private KScaleMin() {
    }

    /** Packs scale {@code ls} and min {@code lm} (each 0..63) of sub-block j into the 12 bytes at {@code off}. */
    static void put(byte[] y, int off, int j, int ls, int lm) {
        if (j < 4) {
            y[off + j] = (byte) ls;
            y[off + j + 4] = (byte) lm;
        } else {
            y[off + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
            y[off + j - 4] |= (byte) ((ls >> 4) << 6);
            y[off + j] |= (byte) ((lm >> 4) << 6);
        }
    }

    /** {@code get_scale_min_k4}: the 6-bit scale of sub-block j. */
    static int scale(byte[] q, int off, int j) {
        return j < 4 ? q[off + j] & 63 : (q[off + j + 4] & 0xF) | (((q[off + j - 4] & 0xFF) >> 6) << 4);
    }

    /** {@code get_scale_min_k4}: the 6-bit min of sub-block j. */
    static int min(byte[] q, int off, int j) {
        return j < 4 ? q[off + j + 4] & 63 : ((q[off + j + 4] & 0xFF) >> 4) | (((q[off + j] & 0xFF) >> 6) << 4);
    }

    /** {@link #scale(byte[], int, int)} read in place from the 12 bytes at {@code off} of {@code w}. */
    static int scale(MemorySegment w, long off, int j) {
        return j < 4 ? VectorDequant.byteAt(w, off + j) & 63
                : (VectorDequant.byteAt(w, off + j + 4) & 0xF) | ((VectorDequant.byteAt(w, off + j - 4) >> 6) << 4);
    }

    /** {@link #min(byte[], int, int)} read in place from the 12 bytes at {@code off} of {@code w}. */
    static int min(MemorySegment w, long off, int j) {
        return j < 4 ? VectorDequant.byteAt(w, off + j + 4) & 63
                : (VectorDequant.byteAt(w, off + j + 4) >> 4) | ((VectorDequant.byteAt(w, off + j) >> 6) << 4);
    }
}
