package io.falconq.bench;

import io.falconq.core.quant.BlockCodec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Benchmark inputs from fixed seeds, so every run times the same numbers. */
final class SeededInputs {
    private SeededInputs() {
    }

    /** {@code n} standard normal floats from {@code new Random(seed)}. */
    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /**
     * {@code rows × cols} gaussian values (seed) quantized row by row by {@code codec}, in off-heap memory as a
     * memory-mapped model file's tensor is.
     */
    static MemorySegment quantizedRows(BlockCodec codec, int rows, int cols, long seed) {
        float[] values = gaussian(rows * cols, seed);
        long rowBytes = codec.rowBytes(cols);
        MemorySegment seg = Arena.ofAuto().allocate(rowBytes * rows, 64);
        for (int r = 0; r < rows; r++) {
            codec.quantizeRow(values, r * cols, cols, null, seg, r * rowBytes);
        }
        return seg;
    }
}
