package io.falconq.core.intquant;

import io.falconq.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;
import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPTQ's in-place U against torch's recipe computed with ojAlgo: Cholesky, inverse, Cholesky of the inverse. */
class InPlaceCholeskyTest {
    static {
        // ojAlgo prints a hardware-profile notice to stdout when it knows no profile for this machine
        System.setProperty("shut.up.ojAlgo", "true");
    }

    /** A symmetric positive definite n×n matrix B Bᵀ / m + I·0.1 with a few exactly dead rows. */
    private static double[][] spd(int n, long seed) {
        Random rnd = new Random(seed);
        int m = n + 20;
        double[][] b = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < m; k++) {
                b[i][k] = i % 17 == 5 ? 0 : rnd.nextGaussian() * (1 + i % 5);
            }
        }
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < m; k++) {
                    s += b[i][k] * b[j][k];
                }
                h[i][j] = s / m + (i == j && i % 17 != 5 ? 0.1 : 0);
            }
        }
        return h;
    }

    /** The former implementation's chain, on the permuted and damped matrix, with dead diagonals set to 1. */
    private static double[] ojAlgoUpper(double[][] h, int[] perm, double dampPercent) {
        int n = h.length;
        double meanDiag = 0;
        for (int i = 0; i < n; i++) {
            meanDiag += h[perm[i]][perm[i]] == 0 ? 1 : h[perm[i]][perm[i]];
        }
        meanDiag /= n;
        R064Store m = R064Store.FACTORY.make(n, n);
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                double v = h[perm[a]][perm[b]];
                if (a == b) {
                    v = (v == 0 ? 1 : v) + dampPercent * meanDiag;
                }
                m.set(a, b, v);
            }
        }
        Cholesky<Double> chol = Cholesky.R064.make(m);
        assertTrue(chol.decompose(m));
        MatrixStore<Double> inv = chol.getInverse();
        Cholesky<Double> chol2 = Cholesky.R064.make(inv);
        assertTrue(chol2.decompose(inv));
        MatrixStore<Double> r = chol2.getR();
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                u[i * n + j] = r.doubleValue(i, j);
            }
        }
        return u;
    }

    @Test
    void upperFactorMatchesTorchRecipe() {
        for (int n : new int[] {1, 7, 64, 130, 301}) {
            double[][] h = spd(n, n);
            for (boolean actOrder : new boolean[] {false, true}) {
                IntQuantScheme s = IntQuantScheme.w4(128).withActOrder(actOrder);
                GptqQuantizer.Prepared p;
                try (WorkerPool pool = new WorkerPool(2)) {
                    p = GptqQuantizer.prepare("h", h, s, 0.01);
                    GptqQuantizer.Prepared pooled = GptqQuantizer.prepare("h", flat(h), n, s, 0.01, pool);
                    assertTrue(java.util.Arrays.equals(p.upper(), pooled.upper()), "1 vs 2 threads, n " + n);
                }
                double[] expected = ojAlgoUpper(h, p.perm(), 0.01);
                double scale = 0;
                for (double v : expected) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        // cond(H) ≲ 1e4 here: both factors are backward stable, so they agree to ~cond · 1e-16
                        // relative to the largest entry; 1e-10 leaves a wide margin and still catches any wrong
                        // index or missed term (those give O(1) errors)
                        assertEquals(expected[i * n + j], p.upper()[i * n + j], 1e-10 * scale,
                                "n " + n + " actOrder " + actOrder + " (" + i + "," + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void dampingGrowsUntilPositiveDefinite() {
        // [[1, c], [c, 1]] has eigenvalues 1 ± c; with c = 1.015 it needs damp·mean(diag) = damp > 0.015
        double c = 1.016;
        double[][] h = {{1, c}, {c, 1}};
        double expected = 0.01;
        while (!(1 + expected - c > 0)) {
            expected += GptqQuantizer.DAMP_STEP;
        }
        GptqQuantizer.Prepared p = GptqQuantizer.prepare("h", h, IntQuantScheme.w8(), 0.01);
        assertEquals(expected, p.dampPercent(), 1e-15);
    }

    private static double[] flat(double[][] h) {
        int n = h.length;
        double[] f = new double[n * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(h[i], 0, f, i * n, n);
        }
        return f;
    }
}
