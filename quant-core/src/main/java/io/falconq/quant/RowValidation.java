package io.falconq.quant;

import java.lang.foreign.MemorySegment;

/** The checks of {@code ggml_validate_row_data} (ggml-quants.c): no inf or NaN in values or block scales. */
final class RowValidation {
    private RowValidation() {
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
