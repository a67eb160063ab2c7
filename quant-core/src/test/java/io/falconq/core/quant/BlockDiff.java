package io.falconq.core.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/** Failure messages for byte comparisons, in the style of gguf-py's test_quants.py: first bad block, hex, bit count. */
final class BlockDiff {
    private BlockDiff() {
    }

    /** Null when equal, otherwise a description of the first differing block. */
    static String describe(String what, MemorySegment expected, MemorySegment actual, int typeSize) {
        long mismatch = expected.mismatch(actual);
        if (mismatch < 0) {
            return null;
        }
        if (expected.byteSize() != actual.byteSize()) {
            return what + ": sizes differ, expected " + expected.byteSize() + " bytes, got " + actual.byteSize();
        }
        long block = mismatch / typeSize;
        byte[] e = expected.asSlice(block * typeSize, typeSize).toArray(ValueLayout.JAVA_BYTE);
        byte[] a = actual.asSlice(block * typeSize, typeSize).toArray(ValueLayout.JAVA_BYTE);
        int bits = 0;
        StringBuilder marks = new StringBuilder();
        for (int i = 0; i < typeSize; i++) {
            bits += Integer.bitCount((e[i] ^ a[i]) & 0xFF);
            marks.append(e[i] == a[i] ? "  " : "^^");
        }
        long blocks = expected.byteSize() / typeSize;
        long badBlocks = 0;
        for (long b = block; b < blocks; b++) {
            if (expected.asSlice(b * typeSize, typeSize).mismatch(actual.asSlice(b * typeSize, typeSize)) >= 0) {
                badBlocks++;
            }
        }
        HexFormat hex = HexFormat.of();
        return what + ": first differing block " + block + " of " + blocks + " (" + badBlocks + " blocks differ; "
                + bits + " bits differ in this block)\n  expected " + hex.formatHex(e) + "\n  actual   "
                + hex.formatHex(a) + "\n           " + marks;
    }
}
