package io.falconq.runtime.kernel;

import io.falconq.core.parallel.WorkerPool;
import io.falconq.core.quant.HalfFloat;
import io.falconq.core.quant.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link QuantMatMul} and {@link QuantizedWeightMatrix#dot} against references computed in double precision from
 * the scalar dequantized weights, for every stored type, on the seeded and edge rows of {@link QuantBlocks}, with
 * shapes that are not multiples of the panel ({@link QuantMatMul#NR}), the register tile ({@link QuantMatMul#MR}) or
 * the decode chunk.
 *
 * <p><b>Tolerance.</b> Each output is a float32 sum of n products. The window kernel forms it as one FMA chain
 * (products exact, one rounding per step), so Higham's bound gives |y − Σ| ≤ γ_n·Σ|w·x| with γ_n = n·u/(1 − n·u),
 * u = 2⁻²⁴. {@link #BOUND_FACTOR} applies it with n = K (the whole depth); the token path ({@code BlockCodec.dot},
 * lane-parallel partial sums) obeys the same bound. A wrong index, block or scale is off by orders of magnitude.
 */
class QuantMatMulTest {
    /** |error| ≤ BOUND_FACTOR · K · 2⁻²⁴ · Σ|w·x| (γ_K with margin for the 1/(1 − K·u) factor). */
    private static final double BOUND_FACTOR = 1.01;
    private static final double U = Math.scalb(1.0, -24);

    static Stream<QuantType> types() {
        return QuantBlocks.WEIGHT_TYPES.stream();
    }

    /** Columns that exercise a decode chunk smaller than 256 where the block size allows it. */
    private static int colsFor(QuantType type) {
        return type.ggmlType().blockSize() == 256 ? 512 : 384;
    }

    private static float[] activations(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static float[] dequantized(QuantizedWeightMatrix w) {
        float[] all = new float[w.rows() * w.cols()];
        for (int o = 0; o < w.rows(); o++) {
            w.quantType().codec().dequantizeRow(w.data(), o * w.rowBytes(), all, o * w.cols(), w.cols());
        }
        return all;
    }

    private static void assertWithinBound(float[] y, float[] x, float[] w, int tokens, int in, int out, String what) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) {
                double exact = 0;
                double magnitude = 0;
                for (int k = 0; k < in; k++) {
                    double p = (double) x[t * in + k] * w[o * in + k];
                    exact += p;
                    magnitude += Math.abs(p);
                }
                double bound = BOUND_FACTOR * in * U * magnitude + Float.MIN_NORMAL;
                double err = Math.abs(y[t * out + o] - exact);
                assertTrue(err <= bound, what + ": y[" + t + "][" + o + "] = " + y[t * out + o] + ", exact " + exact
                        + ", |error| " + err + " > bound " + bound);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void windowProductIsWithinTheFloatBoundOfTheExactProduct(QuantType type) {
        int in = colsFor(type);
        int out = 2 * QuantMatMul.NR + 5;
        int tokens = 13;
        QuantizedWeightMatrix w = new QuantizedWeightMatrix("w", type, out, in, QuantBlocks.rows(type, out, in, 3));
        float[] x = activations(new Random(4), tokens * in);
        float[] y = new float[tokens * out];
        try (WorkerPool pool = new WorkerPool(2)) {
            new QuantMatMul(pool, ActivationQuantizer.Mode.F32).multiply(x, tokens, w, y);
        }
        assertWithinBound(y, x, dequantized(w), tokens, in, out, type + " window");
    }

    @ParameterizedTest
    @MethodSource("types")
    void rowDotIsWithinTheFloatBoundOfTheExactProduct(QuantType type) {
        int in = colsFor(type);
        int out = 37;
        QuantizedWeightMatrix w = new QuantizedWeightMatrix("w", type, out, in, QuantBlocks.rows(type, out, in, 8));
        float[] x = activations(new Random(9), in);
        float[] y = new float[out];
        try (WorkerPool pool = new WorkerPool(2)) {
            new QuantMatMul(pool, ActivationQuantizer.Mode.F32).multiply(x, 1, w, y);
        }
        assertWithinBound(y, x, dequantized(w), 1, in, out, type + " token");
    }

    @ParameterizedTest
    @MethodSource("types")
    void resultsDoNotDependOnThreadsOrOnWhereATokenSitsInTheWindow(QuantType type) {
        int in = colsFor(type);
        int out = QuantMatMul.NR + 3;
        int tokens = 11;
        QuantizedWeightMatrix w = new QuantizedWeightMatrix("w", type, out, in, QuantBlocks.rows(type, out, in, 21));
        float[] x = activations(new Random(22), tokens * in);
        for (ActivationQuantizer.Mode mode : ActivationQuantizer.Mode.values()) {
            float[] one = new float[tokens * out];
            float[] two = new float[tokens * out];
            float[] shifted = new float[(tokens + 4) * out];
            float[] xs = new float[(tokens + 4) * in];
            System.arraycopy(x, 0, xs, 4 * in, tokens * in);
            try (WorkerPool p1 = new WorkerPool(1); WorkerPool p2 = new WorkerPool(2)) {
                new QuantMatMul(p1, mode).multiply(x, tokens, w, one);
                new QuantMatMul(p2, mode).multiply(x, tokens, w, two);
                new QuantMatMul(p2, mode).multiply(xs, tokens + 4, w, shifted);
            }
            assertArrayEquals(one, two, type + " " + mode + ": 1 vs 2 threads");
            float[] tail = java.util.Arrays.copyOfRange(shifted, 4 * out, (tokens + 4) * out);
            assertArrayEquals(one, tail, type + " " + mode + ": same rows 4 positions later in a longer window");
        }
    }

    @Test
    void vectorTileComputesTheSameFmaChainsAsTheScalarTile() {
        Random r = new Random(31);
        int depth = 301;
        float[] xp = activations(r, depth * QuantMatMul.MR);
        float[] panel = activations(r, depth * QuantMatMul.NR);
        float[] a = new float[QuantMatMul.MR * QuantMatMul.NR];
        float[] b = new float[QuantMatMul.MR * QuantMatMul.NR];
        QuantMatMul.tileScalar(xp, 0, depth, panel, a);
        QuantMatMul.tileVector(xp, 0, depth, panel, b);
        assertArrayEquals(a, b, "same FMA chain per output element, so the same bits");
    }

    /**
     * q8 mode against llama.cpp's own block formulas, written out independently here in double precision:
     * {@code ggml_vec_dot_q8_0_q8_0} (Σ_b d_w·d_x·Σ q_w·q_x) and {@code ggml_vec_dot_q4_1_q8_1}
     * (Σ_b d_w·d_x·Σ q_w·q_x + m_w·s_x, with s_x the Q8_1 block's fp16 {@code d·Σq}), with the activation blocks
     * quantized as x86 {@code quantize_row_q8_0}/{@code _q8_1} do. The kernel multiplies dequantized values in
     * float32 instead of scaling integer block sums, which is the same real number up to the bound above.
     */
    @Test
    void q8ModeMatchesLlamaCppBlockFormulas() {
        int in = 384;
        int out = 70;
        int tokens = 7;
        Random r = new Random(41);
        float[] x = activations(r, tokens * in);
        for (QuantType type : new QuantType[] {QuantType.Q8_0, QuantType.Q4_1}) {
            QuantizedWeightMatrix w = new QuantizedWeightMatrix("w", type, out, in, QuantBlocks.rows(type, out, in, 42));
            float[] y = new float[tokens * out];
            float[] y1 = new float[out];
            try (WorkerPool pool = new WorkerPool(2)) {
                QuantMatMul mm = new QuantMatMul(pool, ActivationQuantizer.Mode.Q8);
                mm.multiply(x, tokens, w, y);
                mm.multiply(java.util.Arrays.copyOf(x, in), 1, w, y1);
            }
            for (int t = 0; t < tokens; t++) {
                for (int o = 0; o < out; o++) {
                    double[] ref = llamaCppDot(type, w, o, x, t * in, in);
                    double bound = BOUND_FACTOR * (in + in / 32) * U * ref[1] + Float.MIN_NORMAL;
                    double err = Math.abs(y[t * out + o] - ref[0]);
                    assertTrue(err <= bound, type + " y[" + t + "][" + o + "] = " + y[t * out + o] + ", llama.cpp "
                            + "formula " + ref[0] + ", |error| " + err + " > " + bound);
                    if (t == 0) {
                        double err1 = Math.abs(y1[o] - ref[0]);
                        assertTrue(err1 <= bound, type + " token path y[" + o + "] = " + y1[o] + " vs " + ref[0]);
                    }
                }
            }
        }
    }

    /** {value, Σ|terms|} of llama.cpp's vec_dot for row o of w and the activation row at x[xOff ..]. */
    private static double[] llamaCppDot(QuantType type, QuantizedWeightMatrix w, int o, float[] x, int xOff, int n) {
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        MemorySegment data = w.data();
        int ts = type.ggmlType().typeSize();
        double sum = 0;
        double magnitude = 0;
        for (int b = 0; b < n / 32; b++) {
            // activations: x86 quantize_row_q8_1 (Q8_0 is the same without s)
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[xOff + 32 * b + j]));
            }
            float d = amax / 127.f;
            float id = amax != 0 ? 127.f / amax : 0;
            int[] qx = new int[32];
            int qsum = 0;
            for (int j = 0; j < 32; j++) {
                qx[j] = (int) Math.rint(x[xOff + 32 * b + j] * id);
                qsum += qx[j];
            }
            double dx = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d));
            double sx = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d * qsum));
            long p = o * w.rowBytes() + (long) b * ts;
            double dw = HalfFloat.fp16ToFp32(data.get(i16, p));
            long isum = 0;
            if (type == QuantType.Q8_0) {
                for (int j = 0; j < 32; j++) {
                    isum += (long) data.get(ValueLayout.JAVA_BYTE, p + 2 + j) * qx[j];
                }
                sum += dw * dx * isum;
                for (int j = 0; j < 32; j++) {
                    magnitude += Math.abs(dw * data.get(ValueLayout.JAVA_BYTE, p + 2 + j) * dx * qx[j]);
                }
            } else {
                double m = HalfFloat.fp16ToFp32(data.get(i16, p + 2));
                for (int j = 0; j < 16; j++) {
                    int byteValue = data.get(ValueLayout.JAVA_BYTE, p + 4 + j) & 0xFF;
                    isum += (long) (byteValue & 0xF) * qx[j] + (long) (byteValue >> 4) * qx[j + 16];
                    magnitude += Math.abs((dw * (byteValue & 0xF) + m) * dx * qx[j])
                            + Math.abs((dw * (byteValue >> 4) + m) * dx * qx[j + 16]);
                }
                sum += dw * dx * isum + m * sx;
                magnitude += Math.abs(m * sx);
            }
        }
        return new double[] {sum, magnitude};
    }

    @Test
    void q8ModeRoundsDenseActivationsTooAndF32ModeLeavesThemAlone() {
        int in = 64;
        int out = 3;
        float[] w = new float[out * in];
        w[0] = 1f; // y[0] = x[0]
        w[in + 1] = 1f; // y[1] = x[1]
        DenseWeightMatrix f16 = new DenseWeightMatrix("w", io.falconq.formats.gguf.GgmlType.F16, out, in,
                MemorySegment.ofArray(toF16(w)));
        float[] x = new float[2 * in];
        x[0] = 1.0001f; // not a float16: rounds to 1.0 in fp16 (spacing 2^-10)
        x[1] = 2.0e-8f; // below half the smallest fp16 subnormal (2^-25 ≈ 2.98e-8): rounds to 0
        x[in] = x[0];
        float[] y = new float[2 * out];
        try (WorkerPool pool = new WorkerPool(1)) {
            new MatMul(pool, ActivationQuantizer.Mode.Q8).multiply(x, 2, f16, y);
            assertEquals(1.0f, y[0]);
            assertEquals(0.0f, y[1]);
            new MatMul(pool, ActivationQuantizer.Mode.F32).multiply(x, 2, f16, y);
            assertEquals(1.0001f, y[0]);
            assertEquals(2.0e-8f, y[1]);
        }
    }

    private static short[] toF16(float[] a) {
        short[] s = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = Float.floatToFloat16(a[i]);
        }
        return s;
    }
}
