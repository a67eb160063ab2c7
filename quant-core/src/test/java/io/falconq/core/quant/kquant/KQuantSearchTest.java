package io.falconq.core.quant.kquant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Properties of the scale searches that follow from their definitions in ggml-quants.c (GGUF-NOTES.md §5.3). Their
 * exact outputs are pinned indirectly: every K-quant and imatrix path built on them is byte-identical to
 * llama-quantize ({@code LlamaCppBitExactTest}).
 */
class KQuantSearchTest {
    private static float[] gaussian(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void allZeroGroupsGiveZeroScaleAndZeroLevels() {
        byte[] L = new byte[32];
        java.util.Arrays.fill(L, (byte) 7);
        float[] zero = new float[32];
        assertEquals(0f, KQuantSearch.makeQxQuants(32, 8, zero, 0, L, 0, 1, null, 0));
        assertEquals(0, L[5]);
        java.util.Arrays.fill(L, (byte) 7);
        assertEquals(0f, KQuantSearch.makeQ3Quants(16, 4, zero, 0, L, 0, true));
        assertEquals(0, L[3]);
        float[] min = new float[1];
        java.util.Arrays.fill(L, (byte) 7);
        assertEquals(0f, KQuantSearch.makeQkx2Quants(32, 15, zero, 0, new float[32], 0, L, 0, min, 0, new byte[32],
                -1f, 0.1f, 20, false));
        assertEquals(0, L[31]);
        assertEquals(0f, min[0], 0f); // -0.0 in C too: the_min = -min
        java.util.Arrays.fill(L, (byte) 7);
        assertEquals(0f, KQuantSearch.makeQpQuants(8, 63, zero, 0, L, 0, new float[8], 0));
        assertEquals(0, L[0]);
    }

    @Test
    void makeQxQuantsWithoutSearchMapsTheExtremeToMinusNmax() {
        SplittableRandom r = new SplittableRandom(1);
        float[] x = gaussian(r, 16);
        x[9] = 5f; // the signed extreme: maps to level -nmax, i.e. stored 0
        byte[] L = new byte[16];
        float d = KQuantSearch.makeQxQuants(16, 32, x, 0, L, 0, 0, null, 0);
        assertEquals(0, L[9]);
        assertEquals(-5f / 32, d, 1e-7f);
        for (int i = 0; i < 16; i++) {
            assertEquals(Math.max(0, Math.min(63, 32 + (int) Math.rint(x[i] / d))), L[i], "element " + i);
        }
    }

    @Test
    void searchesNeverDoWorseThanTheirStartingPoint() {
        SplittableRandom r = new SplittableRandom(2);
        for (int trial = 0; trial < 200; trial++) {
            float[] x = gaussian(r, 32);
            float[] w = new float[32];
            for (int i = 0; i < 32; i++) {
                w[i] = x[i] * x[i];
            }
            // make_qx_quants with rmse_type 1 minimises Σ x²·(x − d·l)² starting from plain rounding (rmse_type 0)
            byte[] L0 = new byte[32];
            byte[] L1 = new byte[32];
            float d0 = KQuantSearch.makeQxQuants(32, 8, x, 0, L0, 0, 0, null, 0);
            float d1 = KQuantSearch.makeQxQuants(32, 8, x, 0, L1, 0, 1, null, 0);
            assertTrue(weightedError(x, w, L1, d1, 8, 0) <= weightedError(x, w, L0, d0, 8, 0) * (1 + 1e-5),
                    "trial " + trial);
            // make_qkx2_quants: levels within 0..nmax, non-negative offset, error no worse than a plain min/max fit
            byte[] L = new byte[32];
            float[] min = new float[1];
            float[] weights = new float[32];
            java.util.Arrays.fill(weights, 1f);
            float scale = KQuantSearch.makeQkx2Quants(32, 15, x, 0, weights, 0, L, 0, min, 0, new byte[32], -1f, 0.1f,
                    20, false);
            assertTrue(min[0] >= 0, "the_min is -min with min <= 0");
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            for (float v : x) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            lo = Math.min(lo, 0);
            float naiveScale = (hi - lo) / 15;
            double naive = 0;
            double found = 0;
            for (int i = 0; i < 32; i++) {
                assertTrue(L[i] >= 0 && L[i] <= 15);
                int l = Math.max(0, Math.min(15, (int) Math.rint((x[i] - lo) / naiveScale)));
                naive += Math.pow(naiveScale * l + lo - x[i], 2);
                found += Math.pow(scale * L[i] - min[0] - x[i], 2);
            }
            assertTrue(found <= naive * (1 + 1e-5), "trial " + trial + ": " + found + " > " + naive);
        }
    }

    @Test
    void makeQpQuantsKeepsLevelsWithinNmaxForNonNegativeInput() {
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 200; trial++) {
            float[] x = new float[8];
            float[] w = new float[8];
            for (int i = 0; i < 8; i++) {
                x[i] = (float) Math.abs(r.nextGaussian());
                w[i] = (float) r.nextDouble();
            }
            byte[] L = new byte[8];
            float s = KQuantSearch.makeQpQuants(8, 63, x, 0, L, 0, w, 0);
            assertTrue(s > 0);
            for (byte l : L) {
                assertTrue((l & 0xFF) <= 63);
            }
        }
    }

    private static double weightedError(float[] x, float[] w, byte[] L, float d, int nmax, int off) {
        double e = 0;
        for (int i = 0; i < x.length; i++) {
            e += w[i] * Math.pow(x[i] - d * (L[i] - nmax), 2);
        }
        return e;
    }
}
