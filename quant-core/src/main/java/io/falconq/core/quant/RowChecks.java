package io.falconq.core.quant;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The row checks shared by the codecs: argument checks (programming errors, hence unchecked exceptions) and the
 * data checks of {@code ggml_validate_row_data} (ggml-quants.c: no inf or NaN in values or block scales).
 */
final class RowChecks {
    private RowChecks() {
    }

    static void quantize(BlockCodec codec, float[] src, int srcOff, int n, float[] importance) {
        length(codec, n);
        Objects.checkFromIndexSize(srcOff, n, src.length);
        if (importance != null && importance.length < n) {
            throw new IllegalArgumentException("importance has " + importance.length + " values for a row of " + n);
        }
    }

    static void dequantize(BlockCodec codec, float[] dst, int dstOff, int n) {
        length(codec, n);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
    }

    static void dot(BlockCodec codec, float[] x, int xOff, int n) {
        length(codec, n);
        Objects.checkFromIndexSize(xOff, n, x.length);
    }

    private static void length(BlockCodec codec, int n) {
        if (n < 0 || n % codec.blockSize() != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of " + codec.type() + "'s block size "
                    + codec.blockSize());
        }
    }

    /** Index of the first block whose fp16 field at any of {@code fieldOffsets} is inf or NaN, or −1. */
    static long firstNonFiniteFp16Field(MemorySegment w, long off, long blocks, int typeSize, int... fieldOffsets) {
        for (long b = 0; b < blocks; b++) {
            for (int f : fieldOffsets) {
                short h = w.get(LittleEndian.SHORT, off + b * typeSize + f);
                if ((h & 0x7c00) == 0x7c00) {
                    return b;
                }
            }
        }
        return -1;
    }
}
