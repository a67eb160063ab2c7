package io.falconq.core.quant.kquant;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lane-parallel candidate searches must give exactly what the scalar ports give (scale, min and every level),
 * with the parameters ggml's K-quants use them with, on seeded groups that include the awkward cases: one huge
 * outlier, constant groups, all-positive groups (min clamped to 0), zero weights, tiny magnitudes.
 */
class CandidateLanesTest {
    /** (n, nmax, rmin, rdelta, nstep, useMad) of Q4_K, Q5_K and Q2_K in ggml-quants.c. */
    private static final Object[][] QKX2_USES = {
            {32, 15, -1f, 0.1f, 20, false},
            {32, 31, -0.5f, 0.1f, 15, false},
            {16, 3, -0.5f, 0.1f, 15, true},
    };

    private static float[] group(SplittableRandom r, int n, int kind) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian() * (kind == 5 ? 1e-6f : 0.02f);
        }
        switch (kind) {
            case 1 -> x[r.nextInt(n)] = 3.5f; // one outlier
            case 2 -> Arrays.fill(x, 0.125f); // constant
            case 3 -> {
                for (int i = 0; i < n; i++) {
                    x[i] = Math.abs(x[i]) + 0.01f; // all positive: min clamps to 0
                }
            }
            default -> {
            }
        }
        return x;
    }

    @Test
    void qkx2LanesEqualTheScalarSearch() {
        SplittableRandom r = new SplittableRandom(2026);
        int improvedGroups = 0;
        for (Object[] use : QKX2_USES) {
            int n = (int) use[0];
            int nmax = (int) use[1];
            for (int t = 0; t < 6000; t++) {
                int kind = t % 6;
                float[] x = group(r, n, kind);
                float[] w = new float[n];
                float avX = 0;
                for (float v : x) {
                    avX += Math.abs(v);
                }
                avX /= n;
                for (int i = 0; i < n; i++) {
                    w[i] = kind == 4 && i % 3 == 0 ? 0f : avX + Math.abs(x[i]);
                }
                byte[] l0 = new byte[n];
                byte[] l1 = new byte[n];
                float[] min0 = new float[1];
                float[] min1 = new float[1];
                float s0 = KQuantSearch.makeQkx2Quants(n, nmax, x, 0, w, 0, l0, 0, min0, 0, new byte[n],
                        (float) use[2], (float) use[3], (int) use[4], (boolean) use[5], false);
                float s1 = KQuantSearch.makeQkx2Quants(n, nmax, x, 0, w, 0, l1, 0, min1, 0, new byte[n],
                        (float) use[2], (float) use[3], (int) use[4], (boolean) use[5], true);
                String what = "nmax " + nmax + " group " + t;
                assertEquals(Float.floatToRawIntBits(s0), Float.floatToRawIntBits(s1), what + ": scale");
                assertEquals(Float.floatToRawIntBits(min0[0]), Float.floatToRawIntBits(min1[0]), what + ": min");
                assertArrayEquals(l0, l1, what + ": levels");
                float firstFit = KQuantSearch.makeQkx2Quants(n, nmax, x, 0, w, 0, new byte[n], 0, new float[1], 0,
                        new byte[n], (float) use[2], (float) use[3], 0, (boolean) use[5], false);
                if (s0 != firstFit) {
                    improvedGroups++;
                }
            }
        }
        assertTrue(improvedGroups > 1000, "the search must actually move away from the first fit in many groups: "
                + improvedGroups);
    }

    @Test
    void qxLanesEqualTheScalarSearch() {
        SplittableRandom r = new SplittableRandom(2027);
        int[][] uses = {{16, 32}, {16, 4}, {32, 8}, {32, 16}}; // Q6_K, Q3_K, Q4_0/Q5_0 imatrix paths
        for (int[] use : uses) {
            int n = use[0];
            int nmax = use[1];
            for (int t = 0; t < 6000; t++) {
                int kind = t % 6;
                float[] x = group(r, n, kind);
                float[] qw = null;
                if (t % 2 == 1) {
                    qw = new float[n];
                    for (int i = 0; i < n; i++) {
                        qw[i] = kind == 4 && i % 3 == 0 ? 0f : (float) r.nextDouble();
                    }
                }
                byte[] l0 = new byte[n];
                byte[] l1 = new byte[n];
                float s0 = KQuantSearch.makeQxQuants(n, nmax, x, 0, l0, 0, 1, qw, 0, false);
                float s1 = KQuantSearch.makeQxQuants(n, nmax, x, 0, l1, 0, 1, qw, 0, true);
                String what = "n " + n + " nmax " + nmax + " group " + t;
                assertEquals(Float.floatToRawIntBits(s0), Float.floatToRawIntBits(s1), what + ": scale");
                assertArrayEquals(l0, l1, what + ": levels");
            }
        }
    }
}
