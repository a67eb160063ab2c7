package io.falconq.runtime.kernel;

import io.falconq.formats.gguf.GgmlType;

/**
 * A linear layer's weight {@code W[rows = out, cols = in]} as stored (row-major, one contiguous encoded row per
 * output), and the two operations the runtime needs from it: decode a row to float32 (used to pack panels for the
 * window-mode matrix product, and for embedding look-ups) and a row · vector dot product (token-by-token mode).
 *
 * <p>Implementations exist per storage encoding; quantized block types plug in by implementing these two methods
 * over their codec's {@code dequantizeRow}/{@code dot}.
 */
public interface WeightMatrix {
    /** Tensor name as stored (for messages). */
    String name();

    /** Output features: number of rows. */
    int rows();

    /** Input features: elements per row. */
    int cols();

    /** Storage type. */
    GgmlType type();

    /** Writes {@code W[row, 0..cols)} as float32 into {@code dst[dstOff ..]}. */
    void decodeRow(int row, float[] dst, int dstOff);

    /** {@code Σ_k W[row,k]·x[xOff+k]} over k in [0, cols), with a summation order that depends only on cols. */
    float dot(int row, float[] x, int xOff);
}
