package io.falconq.core.quant;

import java.lang.foreign.MemorySegment;

/** The scalar reference dot shared by all codecs: dequantize one block into scratch, then multiply-add. */
final class ScalarDot {
    private static final int MAX_BLOCK = 256;
    private static final ThreadLocal<float[]> BLOCK = ThreadLocal.withInitial(() -> new float[MAX_BLOCK]);

    private ScalarDot() {
    }

    static float dot(BlockCodec codec, MemorySegment w, long wOff, float[] x, int xOff, int n) {
        RowChecks.dot(codec, x, xOff, n);
        int bs = codec.blockSize();
        int ts = codec.typeSize();
        float[] block = BLOCK.get();
        float sum = 0;
        for (int b = 0; b < n / bs; b++) {
            codec.dequantizeRow(w, wOff + (long) b * ts, block, 0, bs);
            int xb = xOff + b * bs;
            for (int j = 0; j < bs; j++) {
                sum += block[j] * x[xb + j];
            }
        }
        return sum;
    }
}
