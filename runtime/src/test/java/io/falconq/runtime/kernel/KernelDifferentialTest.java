package io.falconq.runtime.kernel;

import io.falconq.core.parallel.WorkerPool;
import io.falconq.formats.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Vector API kernel against its scalar reference (and, for the products, against a double-precision sum),
 * on seeded random data with shapes that are not multiples of the vector length, the register tile or the panel.
 *
 * <p>Tolerances: the vector and scalar paths sum the same float products in different orders (FMA chains vs
 * separate multiply/add, lane-parallel vs sequential), so they differ by float rounding only. For a sum of n products
 * of magnitude ≤ 1 the rounding error is bounded by about n·2⁻²⁴·Σ|products|; the tests use
 * {@code REL = 1e-5 · Σ|x·w|}, which the worst case for n ≤ 600 stays well inside (≈ 3.6e-5·Σ in theory, ≈ 1e-6 in
 * practice, since errors do not all align), and which any indexing mistake exceeds by orders of magnitude.
 */
class KernelDifferentialTest {
    private static final double REL = 1e-5;

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * 0.5);
        }
        return a;
    }

    private static short[] toBf16(float[] a) {
        short[] s = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = (short) (Float.floatToIntBits(a[i]) >>> 16);
        }
        return s;
    }

    private static short[] toF16(float[] a) {
        short[] s = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = Float.floatToFloat16(a[i]);
        }
        return s;
    }

    private static DenseWeightMatrix matrix(GgmlType type, float[] w, int rows, int cols) {
        return switch (type) {
            case F32 -> DenseWeightMatrix.ofFloats("w", rows, cols, w);
            case BF16 -> new DenseWeightMatrix("w", type, rows, cols, MemorySegment.ofArray(toBf16(w)));
            case F16 -> new DenseWeightMatrix("w", type, rows, cols, MemorySegment.ofArray(toF16(w)));
            default -> throw new AssertionError(type);
        };
    }

    @Test
    void bf16DecodeIsTheHighHalfOfTheFloat() {
        float[] w = {1.5f, -2.25f, 0f, 3.0e-5f, 65504f};
        DenseWeightMatrix m = matrix(GgmlType.BF16, w, 1, w.length);
        float[] out = new float[w.length];
        m.decodeRow(0, out, 0);
        for (int i = 0; i < w.length; i++) {
            assertEquals(Float.intBitsToFloat(Float.floatToIntBits(w[i]) & 0xFFFF0000), out[i]);
        }
    }

    @Test
    void dotVectorMatchesScalarAndDouble() {
        Random r = new Random(2);
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.BF16, GgmlType.F16}) {
            for (int cols : new int[] {1, 15, 16, 33, 256, 601}) {
                int rows = 3;
                float[] w = random(r, rows * cols);
                DenseWeightMatrix m = matrix(type, w, rows, cols);
                float[] x = random(r, cols + 4);
                float[] decoded = new float[cols];
                for (int row = 0; row < rows; row++) {
                    m.decodeRow(row, decoded, 0);
                    double exact = 0;
                    double abs = 0;
                    for (int k = 0; k < cols; k++) {
                        exact += (double) decoded[k] * x[2 + k];
                        abs += Math.abs((double) decoded[k] * x[2 + k]);
                    }
                    double tol = REL * abs + 1e-30;
                    assertEquals(exact, m.dotVector(row, x, 2), tol, type + " cols " + cols);
                    assertEquals(exact, m.dotScalar(row, x, 2), tol, type + " cols " + cols);
                }
            }
        }
    }

    @Test
    void matmulMatchesDoubleReferenceForAwkwardShapes() {
        Random r = new Random(3);
        int[][] shapes = {{7, 37, 45}, {13, 300, 70}, {1, 64, 33}, {6, 256, 32}, {25, 520, 97}};
        try (WorkerPool pool = new WorkerPool(2)) {
            MatMul mm = new MatMul(pool);
            for (int[] s : shapes) {
                int t = s[0];
                int in = s[1];
                int out = s[2];
                for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.BF16}) {
                    float[] w = random(r, out * in);
                    DenseWeightMatrix m = matrix(type, w, out, in);
                    float[] x = random(r, t * in);
                    float[] y = new float[t * out];
                    mm.multiply(x, t, m, y);
                    float[] row = new float[in];
                    for (int o = 0; o < out; o++) {
                        m.decodeRow(o, row, 0);
                        for (int i = 0; i < t; i++) {
                            double exact = 0;
                            double abs = 0;
                            for (int k = 0; k < in; k++) {
                                exact += (double) x[i * in + k] * row[k];
                                abs += Math.abs((double) x[i * in + k] * row[k]);
                            }
                            assertEquals(exact, y[i * out + o], REL * abs + 1e-30,
                                    type + " " + t + "×" + in + "→" + out + " at (" + i + ", " + o + ")");
                        }
                    }
                }
            }
        }
    }

    @Test
    void matmulIsBitIdenticalForAnyThreadCount() {
        Random r = new Random(4);
        int t = 50;
        int in = 300;
        int out = 200;
        DenseWeightMatrix m = matrix(GgmlType.BF16, random(r, out * in), out, in);
        float[] x = random(r, t * in);
        float[][] results = new float[4][];
        for (int threads = 1; threads <= 4; threads++) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                float[] y = new float[t * out];
                new MatMul(pool).multiply(x, t, m, y);
                results[threads - 1] = y;
            }
        }
        for (int i = 1; i < 4; i++) {
            assertArrayEquals(results[0], results[i], (i + 1) + " threads vs 1");
        }
    }

    @Test
    void expVectorIsBitIdenticalToScalarAndWithinTwoUlpOfMathExp() {
        int n = 200_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -90f + 180f * i / (n - 1);
        }
        float[] v = x.clone();
        Exp.expShiftedInPlace(v, 0, n, 0f);
        for (int i = 0; i < n; i++) {
            float s = Exp.exp(x[i]);
            assertEquals(Float.floatToIntBits(s), Float.floatToIntBits(v[i]), "exp(" + x[i] + ") vector vs scalar");
            if (x[i] > -86.6f && x[i] < 88.7f) {
                double ref = Math.exp(x[i]);
                double ulp = Math.ulp((float) ref);
                assertTrue(Math.abs(s - ref) <= 2 * ulp, "exp(" + x[i] + ") = " + s + ", Math.exp " + ref);
            }
        }
        assertEquals(0f, Exp.exp(-100f));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(100f));
        assertEquals(1f, Exp.exp(0f));
    }

    @Test
    void sumLanesIsTheExactSumForIntegers() {
        float[] a = new float[KernelMode.FLOATS.length()];
        for (int i = 0; i < a.length; i++) {
            a[i] = i + 1;
        }
        float s = VectorOps.sumLanes(jdk.incubator.vector.FloatVector.fromArray(KernelMode.FLOATS, a, 0));
        assertEquals(a.length * (a.length + 1) / 2f, s);
    }

    @Test
    void scanVectorMatchesScalar() {
        Random r = new Random(5);
        int tokens = 9;
        int p = 20;   // not a multiple of the vector length: exercises the tail
        int s = 8;
        int xbcStride = p + 2 * s + 3;
        float[] xbc = random(r, tokens * xbcStride);
        float[] dt = new float[tokens * 2];
        for (int i = 0; i < dt.length; i++) {
            dt[i] = 0.05f + r.nextFloat() * 0.5f;
        }
        float[] stateV = random(r, s * p);
        float[] stateS = stateV.clone();
        float[] yV = new float[tokens * p];
        float[] yS = new float[tokens * p];
        ScanKernel.scanHeadVector(tokens, xbc, xbcStride, 0, p, p + s, dt, 2, 1, -0.7f, 0.3f, stateV, 0, p, s, yV, p, 0);
        ScanKernel.scanHeadScalar(tokens, xbc, xbcStride, 0, p, p + s, dt, 2, 1, -0.7f, 0.3f, stateS, 0, p, s, yS, p, 0);
        for (int i = 0; i < yV.length; i++) {
            assertEquals(yS[i], yV[i], 1e-5 * (1 + Math.abs(yS[i])), "y[" + i + "]");
        }
        for (int i = 0; i < stateV.length; i++) {
            assertEquals(stateS[i], stateV[i], 1e-5 * (1 + Math.abs(stateS[i])), "state[" + i + "]");
        }
    }

    @Test
    void attentionQueryGivesTheSameBitsAloneOrInABlockAndMatchesTheReference() {
        Random r = new Random(6);
        int hd = 24;
        int tokens = 11;
        int ks = AttentionKernel.paddedCapacity(tokens);
        float[] q = random(r, tokens * hd);
        float[] keysT = random(r, hd * ks);
        float[] values = random(r, tokens * hd);
        float scale = 0.2f;
        float[] scratch = new float[AttentionKernel.scratchSize(tokens)];
        float[] block = new float[tokens * hd];
        AttentionKernel.attend(q, hd, 0, 0, tokens, 0, keysT, 0, ks, values, hd, 0, hd, scale, block, hd, 0, scratch);
        for (int t = 0; t < tokens; t++) {
            float[] alone = new float[tokens * hd];
            AttentionKernel.attend(q, hd, 0, t, t + 1, 0, keysT, 0, ks, values, hd, 0, hd, scale, alone, hd, 0, scratch);
            for (int d = 0; d < hd; d++) {
                assertEquals(Float.floatToIntBits(block[t * hd + d]), Float.floatToIntBits(alone[t * hd + d]),
                        "query " + t + " dim " + d);
                // reference: softmax in double over positions 0..t
                double[] w = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int k = 0; k < hd; k++) {
                        dot += (double) q[t * hd + k] * keysT[k * ks + s];
                    }
                    w[s] = dot * scale;
                    max = Math.max(max, w[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    w[s] = Math.exp(w[s] - max);
                    sum += w[s];
                }
                double o = 0;
                for (int s = 0; s <= t; s++) {
                    o += w[s] / sum * values[s * hd + d];
                }
                assertEquals(o, block[t * hd + d], 1e-5, "reference query " + t + " dim " + d);
            }
        }
    }
}
