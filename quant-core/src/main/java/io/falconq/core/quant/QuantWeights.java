package io.falconq.core.quant;

/**
 * The per-element weights ggml's quantizers fit with: the block's sum of squares (behind the K-quants'
 * {@code av_x} and every imatrix path's σ²) and the imatrix weighting of the {@code quantize_row_*_impl}
 * functions, {@code weight[j] = quant_weights[j]·sqrtf(σ² + x[j]²)}. Float operations in ggml's order, so the
 * results are bit-exact.
 */
final class QuantWeights {
    private QuantWeights() {
    }

    /** {@code sum_x2 += x[j]*x[j]} over {@code x[off .. off+n)}. */
    static float sumOfSquares(float[] x, int off, int n) {
        float sumX2 = 0;
        for (int j = off; j < off + n; ++j) {
            sumX2 += x[j] * x[j];
        }
        return sumX2;
    }

    /**
     * Fills {@code weight[0 .. n)} with {@code quantWeights[qwOff + j]·sqrtf(sigma2 + x[xOff + j]²)} and returns
     * their sum in element order (the K-quants' {@code sumw}).
     */
    static float imatrix(float[] weight, float[] quantWeights, int qwOff, float[] x, int xOff, float sigma2, int n) {
        float sumW = 0;
        for (int j = 0; j < n; ++j) {
            float xj = x[xOff + j];
            weight[j] = quantWeights[qwOff + j] * (float) Math.sqrt(sigma2 + xj * xj);
            sumW += weight[j];
        }
        return sumW;
    }
}
