package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Differential tests (STYLE.md §10b) on seeded data: the Vector API dot against the scalar reference, both against
 * a double-precision sum, on ordinary and edge blocks (all zero, constant, one huge outlier, tiny values);
 * quantize → dequantize error bounds; and the quantizer's output independent of the vector switch.
 */
class CodecDifferentialTest {
    /**
     * Allowed |dotVector − dotScalar| (and distance of either from the exact sum of the same dequantized products),
     * relative to Σ|w_j·x_j| over the row. Both paths add the same float32 products in different orders (the vector
     * path keeps LANES partial sums and uses fused multiply-adds, and dequantizes in registers as fma(q, d·sc, −m)),
     * so they differ by rounding only: with unit roundoff u = 2⁻²⁴ ≈ 6e-8 the typical difference is O(u·√n), about
     * 1e-6 of Σ|w·x| here. A decoding bug is far larger: one element off by a single quantization level moves the
     * dot by at least ~1/(16·256) ≈ 2.4e-4 of Σ|w·x| in the single-block cases below, 24× this tolerance.
     */
    static final double DOT_REL_TOLERANCE = 1e-5;

    /**
     * Upper bounds on RMSE/σ of quantize → dequantize for N(0, 1) rows (64 rows × 4096, seed 1234, the path without
     * importance). Each is about 10% above the value measured on this data (in the comment) so that a loss of
     * quality fails; the codecs' bytes themselves are pinned by {@link LlamaCppBitExactTest}.
     */
    static final Map<QuantType, Double> GAUSSIAN_REL_RMSE_BOUND = new EnumMap<>(Map.ofEntries(
            Map.entry(QuantType.F32, 0.0),
            Map.entry(QuantType.F16, 2.3e-4),     // 2.08e-4
            Map.entry(QuantType.BF16, 1.85e-3),   // 1.67e-3
            Map.entry(QuantType.Q8_0, 5.9e-3),    // 5.35e-3
            Map.entry(QuantType.Q8_K, 7.7e-3),    // 6.93e-3
            Map.entry(QuantType.Q6_K, 1.96e-2),   // 1.78e-2
            Map.entry(QuantType.Q5_1, 4.2e-2),    // 3.78e-2
            Map.entry(QuantType.Q5_0, 4.7e-2),    // 4.27e-2
            Map.entry(QuantType.Q5_K, 4.0e-2),    // 3.61e-2
            Map.entry(QuantType.Q4_1, 8.6e-2),    // 7.81e-2
            Map.entry(QuantType.Q4_0, 9.5e-2),    // 8.58e-2
            Map.entry(QuantType.Q4_K, 7.9e-2),    // 7.13e-2
            Map.entry(QuantType.IQ4_NL, 8.4e-2),  // 7.62e-2
            Map.entry(QuantType.IQ4_XS, 8.5e-2),  // 7.68e-2
            Map.entry(QuantType.Q3_K, 1.66e-1),   // 1.51e-1
            Map.entry(QuantType.Q2_K, 3.3e-1)));  // 2.97e-1

    /**
     * llama.cpp tests/test-quantize-fns.cpp thresholds on its own synthetic data {@code 0.1 + 2·cosf(i)}, n = 4096,
     * error = sqrt(Σ diff²)/n: MAX_QUANTIZATION_TOTAL_ERROR (0.002), _2BITS (0.0075) for Q2_K, _3BITS (0.0040) for
     * Q3_K; dot error |dot − exact|/n against {@code 0.1 + 2·cosf(i + 1)}: MAX_DOT_PRODUCT_ERROR (0.02), _LOWBIT
     * (0.04) for Q2_K.
     */
    private static double llamaCppQuantizationErrorLimit(QuantType q) {
        return q == QuantType.Q2_K ? 0.0075 : q == QuantType.Q3_K ? 0.0040 : 0.002;
    }

    private static double llamaCppDotErrorLimit(QuantType q) {
        return q == QuantType.Q2_K ? 0.04 : 0.02;
    }

    static MemorySegment quantize(BlockCodec c, float[] src, int rows, int n, float[] importance) {
        long rb = c.rowBytes(n);
        MemorySegment dst = MemorySegment.ofArray(new byte[Math.toIntExact(rb * rows)]);
        for (int r = 0; r < rows; r++) {
            c.quantizeRow(src, r * n, n, importance, dst, r * rb);
        }
        return dst;
    }

    @Test
    void vectorDotAgreesWithScalarDotOnEveryBlockKind() {
        double largest = DotAgreement.checkAllTypes(20240607L);
        System.out.printf("largest |dotVector - dotScalar| / sum|w*x| = %.3g (tolerance %.3g, %d float lanes)%n",
                largest, DOT_REL_TOLERANCE, VectorDequant.LANES);
    }

    @Test
    void vectorDotHandlesRowLengthsThatAreNotVectorMultiples() {
        SplittableRandom r = new SplittableRandom(5);
        for (QuantType q : new QuantType[]{QuantType.F32, QuantType.F16, QuantType.BF16}) {
            for (int n : new int[]{1, 3, 7, 17, 31, 33, 255}) {
                float[] w = new float[n];
                float[] x = new float[n];
                for (int j = 0; j < n; j++) {
                    w[j] = (float) r.nextGaussian();
                    x[j] = (float) r.nextGaussian();
                }
                DotAgreement.assertDotsAgree(q.codec(), quantize(q.codec(), w, 1, n, null), 0, x, 0, n, q + " n=" + n);
            }
        }
    }

    @Test
    void quantizeDequantizeErrorOnGaussianRowsStaysWithinBounds() {
        int rows = 64;
        int n = 4096;
        SplittableRandom r = new SplittableRandom(1234);
        float[] src = new float[rows * n];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) r.nextGaussian();
        }
        StringBuilder measured = new StringBuilder();
        StringBuilder failures = new StringBuilder();
        for (QuantType q : QuantType.values()) {
            BlockCodec c = q.codec();
            MemorySegment qs = quantize(c, src, rows, n, null);
            float[] out = new float[rows * n];
            for (int row = 0; row < rows; row++) {
                c.dequantizeRow(qs, row * c.rowBytes(n), out, row * n, n);
            }
            double se = 0;
            double ss = 0;
            for (int i = 0; i < src.length; i++) {
                se += (double) (out[i] - src[i]) * (out[i] - src[i]);
                ss += (double) src[i] * src[i];
            }
            double rel = Math.sqrt(se / ss);
            double bound = GAUSSIAN_REL_RMSE_BOUND.get(q);
            if (!(rel <= bound)) {
                failures.append(String.format(" %s: %.4g > %.4g;", q, rel, bound));
            }
            measured.append(String.format(" %s=%.4g", q, rel));
        }
        System.out.println("quantize→dequantize RMSE/σ on N(0,1):" + measured);
        assertTrue(failures.isEmpty(), "relative RMSE above bound:" + failures);
    }

    @Test
    void llamaCppQuantizeFnsThresholdsHold() {
        int n = 32 * 128; // test_size in test-quantize-fns.cpp
        float[] data = new float[n];
        float[] data2 = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) (0.1 + 2.0f * (float) Math.cos((float) i));        // generate_data(0.0, …)
            data2[i] = (float) (0.1 + 2.0f * (float) Math.cos((float) i + 1.0f)); // generate_data(1.0, …)
        }
        for (QuantType q : QuantType.values()) {
            BlockCodec c = q.codec();
            MemorySegment qs = quantize(c, data, 1, n, null);
            float[] out = new float[n];
            c.dequantizeRow(qs, 0, out, 0, n);
            double sum = 0;
            double dotRef = 0;
            for (int i = 0; i < n; i++) {
                double diff = data[i] - out[i];
                sum += diff * diff;
                dotRef += data[i] * data2[i];
            }
            double totalError = Math.sqrt(sum) / n;
            assertTrue(totalError < llamaCppQuantizationErrorLimit(q), q + ": total quantization error " + totalError);
            double dotError = Math.abs(c.dot(qs, 0, data2, 0, n) - (float) dotRef) / n;
            assertTrue(dotError < llamaCppDotErrorLimit(q), q + ": dot product error " + dotError);
        }
    }

    @Test
    void dequantizeOfQuantizedDequantizedDataIsAFixedPointForSymmetricTypes() {
        // Requantizing dequantized Q8_0 data must reproduce the same bytes: the block maximum maps to ±127 again.
        SplittableRandom r = new SplittableRandom(99);
        int n = 1024;
        float[] src = new float[n];
        for (int i = 0; i < n; i++) {
            src[i] = (float) r.nextGaussian();
        }
        BlockCodec c = QuantType.Q8_0.codec();
        MemorySegment once = quantize(c, src, 1, n, null);
        float[] deq = new float[n];
        c.dequantizeRow(once, 0, deq, 0, n);
        MemorySegment twice = quantize(c, deq, 1, n, null);
        float[] deq2 = new float[n];
        c.dequantizeRow(twice, 0, deq2, 0, n);
        assertArrayEquals(deq, deq2);
    }

    @Test
    void dotDispatchFollowsTheVectorSwitch() {
        BlockCodec c = QuantType.Q4_K.codec();
        SplittableRandom r = new SplittableRandom(3);
        float[] w = DotAgreement.mixedRow(r, 2);
        float[] x = new float[w.length];
        for (int j = 0; j < x.length; j++) {
            x[j] = (float) r.nextGaussian();
        }
        MemorySegment q = quantize(c, w, 1, w.length, null);
        float expected = VectorMode.ENABLED ? c.dotVector(q, 0, x, 0, w.length) : c.dotScalar(q, 0, x, 0, w.length);
        assertEquals(expected, c.dot(q, 0, x, 0, w.length));
        assertEquals(!"false".equals(System.getProperty("falconq.vector")) && VectorMode.supportedWidth(),
                VectorMode.ENABLED);
    }
}
