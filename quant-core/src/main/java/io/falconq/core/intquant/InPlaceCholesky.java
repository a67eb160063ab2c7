package io.falconq.core.intquant;

import io.falconq.core.parallel.WorkerPool;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cholesky factorisation and triangular inverse of a row-major (n, n) double matrix, in place, blocked and spread
 * over a {@link WorkerPool}. Written here rather than with ojAlgo because GPTQ's Hessian of a 34B down_proj is
 * 21504² doubles (3.7 GB): ojAlgo's {@code Cholesky.decompose} copies its input into its own store and
 * {@code getInverse}/{@code getR} each build another n² matrix, and it schedules on the common fork-join pool, not
 * on the user's thread budget. Both routines here need O(block · n) scratch besides the matrix itself.
 *
 * <p>Every entry is computed by one task with a fixed order of operations (the task cut depends on n only), so the
 * results are bit-identical for any thread count. The hot loops keep their partial sums in registers over a whole
 * k range, as the runtime's {@code MatMul} does.
 */
final class InPlaceCholesky {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int V = D.length();
    /** Columns per block of the Cholesky, rows per block of the inverse. */
    private static final int BLOCK = 64;
    /** k-range of one pass of the dot products (two 64-row panels of it stay in L2). */
    private static final int K_CHUNK = 256;
    /** Column range of one task of the inverse. */
    private static final int INVERSE_COLS = 256;
    private static final int TILE_I = 4;
    private static final int TILE_J = 2;

    private InPlaceCholesky() {
    }

    /**
     * Lower Cholesky factor L of A (A = L Lᵀ). On entry the strictly lower triangle of {@code a} holds A's and
     * {@code diag} A's diagonal; on return they hold L's. The upper triangle and the diagonal of {@code a} are
     * neither read nor written.
     *
     * @return false if A is not positive definite (a pivot ≤ 0 or not finite); {@code a} and {@code diag} then
     * hold partial results
     */
    static boolean lowerCholesky(double[] a, int n, double[] diag, WorkerPool pool) {
        double[][] scratch = new double[pool.threads()][TILE_I * TILE_J * V];
        double[] lt = new double[BLOCK * BLOCK];
        for (int j0 = 0; j0 < n; j0 += BLOCK) {
            int j1 = Math.min(n, j0 + BLOCK);
            subtractRowDots(a, n, diag, j0, j1, j0, j1, j0, scratch[0]);
            if (!factorDiagonalBlock(a, n, diag, j0, j1)) {
                return false;
            }
            for (int r = j0; r < j1; r++) {
                for (int c = j0; c < r; c++) {
                    lt[(c - j0) * BLOCK + r - j0] = a[r * n + c];
                }
            }
            int c0 = j0;
            int c1 = j1;
            pool.forEach((n - c1 + BLOCK - 1) / BLOCK, (t, worker) -> {
                int i0 = c1 + t * BLOCK;
                int i1 = Math.min(n, i0 + BLOCK);
                subtractRowDots(a, n, diag, i0, i1, c0, c1, c0, scratch[worker]);
                solveAgainstDiagonalBlock(a, n, diag, i0, i1, c0, c1, lt);
            });
        }
        return true;
    }

    /** Unblocked Cholesky of the diagonal block [j0, j1)², whose columns before j0 are already subtracted. */
    private static boolean factorDiagonalBlock(double[] a, int n, double[] diag, int j0, int j1) {
        for (int i = j0; i < j1; i++) {
            int ri = i * n;
            for (int j = j0; j < i; j++) {
                double s = a[ri + j];
                for (int k = j0; k < j; k++) {
                    s -= a[ri + k] * a[j * n + k];
                }
                a[ri + j] = s / diag[j];
            }
            double d = diag[i];
            for (int k = j0; k < i; k++) {
                d -= a[ri + k] * a[ri + k];
            }
            if (!(d > 0) || !Double.isFinite(d)) {
                return false;
            }
            diag[i] = Math.sqrt(d);
        }
        return true;
    }

    /**
     * L[i, j0:j1) = A[i, j0:j1) · L[j0:j1, j0:j1)⁻ᵀ for rows i in [i0, i1), by forward substitution: each solved
     * L[i, j] is subtracted from the rest of the row at once, along a row of {@code lt} = L[j0:j1, j0:j1)ᵀ
     * (row-major, {@value #BLOCK} wide) so the updates are independent vector lanes, not a chain of dependent adds.
     */
    private static void solveAgainstDiagonalBlock(double[] a, int n, double[] diag, int i0, int i1, int j0, int j1,
                                                  double[] lt) {
        for (int i = i0; i < i1; i++) {
            int ri = i * n;
            for (int j = j0; j < j1; j++) {
                double l = a[ri + j] / diag[j];
                a[ri + j] = l;
                DoubleVector minusL = DoubleVector.broadcast(D, -l);
                int t = (j - j0) * BLOCK - j0;
                int m = j + 1;
                for (; m + V <= j1; m += V) {
                    minusL.fma(DoubleVector.fromArray(D, lt, t + m), DoubleVector.fromArray(D, a, ri + m))
                            .intoArray(a, ri + m);
                }
                for (; m < j1; m++) {
                    a[ri + m] = Math.fma(-l, lt[t + m], a[ri + m]);
                }
            }
        }
    }

    /**
     * For i in [i0, i1), j in [j0, j1), j ≤ i: A[i, j] −= Σ_{k &lt; kEnd} L[i, k] · L[j, k] (the diagonal entries
     * in {@code diag}). Rows are dotted in chunks of {@value #K_CHUNK} k, each chunk's sum subtracted in turn.
     */
    private static void subtractRowDots(double[] a, int n, double[] diag, int i0, int i1, int j0, int j1, int kEnd,
                                        double[] acc) {
        for (int k0 = 0; k0 < kEnd; k0 += K_CHUNK) {
            int k1 = Math.min(kEnd, k0 + K_CHUNK);
            int kVec = k0 + (k1 - k0) / (4 * V) * (4 * V);
            int i = i0;
            for (; i + TILE_I <= i1; i += TILE_I) {
                int j = j0;
                for (; j + TILE_J <= j1 && j <= i + TILE_I - 1; j += TILE_J) {
                    java.util.Arrays.fill(acc, 0);
                    tileDots(a, n, i, j, k0, kVec, acc);
                    for (int p = 0; p < TILE_I; p++) {
                        for (int q = 0; q < TILE_J; q++) {
                            double s = 0;
                            int o = (p * TILE_J + q) * V;
                            for (int l = 0; l < V; l++) {
                                s += acc[o + l];
                            }
                            subtractEntry(a, n, diag, i + p, j + q, s + dot(a, (i + p) * n, (j + q) * n, kVec, k1));
                        }
                    }
                }
                for (; j < Math.min(j1, i + TILE_I); j++) {
                    for (int p = 0; p < TILE_I; p++) {
                        subtractEntry(a, n, diag, i + p, j, dot(a, (i + p) * n, j * n, k0, k1));
                    }
                }
            }
            for (; i < i1; i++) {
                for (int j = j0; j < Math.min(j1, i + 1); j++) {
                    subtractEntry(a, n, diag, i, j, dot(a, i * n, j * n, k0, k1));
                }
            }
        }
    }

    private static void subtractEntry(double[] a, int n, double[] diag, int i, int j, double s) {
        if (j < i) {
            a[i * n + j] -= s;
        } else if (j == i) {
            diag[i] -= s;
        }
    }

    private static double dot(double[] a, int x, int y, int k0, int k1) {
        double s = 0;
        for (int k = k0; k < k1; k++) {
            s += a[x + k] * a[y + k];
        }
        return s;
    }

    /**
     * acc[(p, q), lane] += Σ lanes of L[i+p, k] · L[j+q, k] for k in [k0, k1), k1 − k0 a multiple of 4V: the eight
     * partial sums stay in registers over the whole range (the same fused multiply-adds in the same order as
     * reloading them from {@code acc} every four vectors, so the same bits).
     */
    private static void tileDots(double[] a, int n, int i, int j, int k0, int k1, double[] acc) {
        int r0 = i * n;
        int r1 = r0 + n;
        int r2 = r1 + n;
        int r3 = r2 + n;
        int q0 = j * n;
        int q1 = q0 + n;
        DoubleVector s00 = DoubleVector.fromArray(D, acc, 0);
        DoubleVector s01 = DoubleVector.fromArray(D, acc, V);
        DoubleVector s10 = DoubleVector.fromArray(D, acc, 2 * V);
        DoubleVector s11 = DoubleVector.fromArray(D, acc, 3 * V);
        DoubleVector s20 = DoubleVector.fromArray(D, acc, 4 * V);
        DoubleVector s21 = DoubleVector.fromArray(D, acc, 5 * V);
        DoubleVector s30 = DoubleVector.fromArray(D, acc, 6 * V);
        DoubleVector s31 = DoubleVector.fromArray(D, acc, 7 * V);
        for (int kk = k0; kk < k1; kk += V) {
            DoubleVector y0 = DoubleVector.fromArray(D, a, q0 + kk);
            DoubleVector y1 = DoubleVector.fromArray(D, a, q1 + kk);
            DoubleVector x = DoubleVector.fromArray(D, a, r0 + kk);
            s00 = x.fma(y0, s00);
            s01 = x.fma(y1, s01);
            x = DoubleVector.fromArray(D, a, r1 + kk);
            s10 = x.fma(y0, s10);
            s11 = x.fma(y1, s11);
            x = DoubleVector.fromArray(D, a, r2 + kk);
            s20 = x.fma(y0, s20);
            s21 = x.fma(y1, s21);
            x = DoubleVector.fromArray(D, a, r3 + kk);
            s30 = x.fma(y0, s30);
            s31 = x.fma(y1, s31);
        }
        s00.intoArray(acc, 0);
        s01.intoArray(acc, V);
        s10.intoArray(acc, 2 * V);
        s11.intoArray(acc, 3 * V);
        s20.intoArray(acc, 4 * V);
        s21.intoArray(acc, 5 * V);
        s30.intoArray(acc, 6 * V);
        s31.intoArray(acc, 7 * V);
    }

    /**
     * Replaces a lower-triangular L (row-major, zeros above the diagonal, nonzero diagonal) by L⁻¹, also lower
     * with zeros above. Row i of X = L⁻¹ is X[i, c] = −Σ_{c ≤ k &lt; i} L[i, k] · X[k, c] / L[i, i] and
     * X[i, i] = 1 / L[i, i]: rows go in blocks of {@value #BLOCK}, each block's L rows copied aside first
     * (the only scratch, BLOCK · n doubles), its columns cut into tasks of {@value #INVERSE_COLS}.
     */
    static void invertLower(double[] a, int n, WorkerPool pool) {
        double[] lRows = new double[Math.min(BLOCK, n) * n];
        double[][] panels = new double[pool.threads()][K_CHUNK * PanelProduct.WIDTH];
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int i1 = Math.min(n, i0 + BLOCK);
            System.arraycopy(a, i0 * n, lRows, 0, (i1 - i0) * n);
            int first = i0;
            pool.forEach((i1 + INVERSE_COLS - 1) / INVERSE_COLS, (t, worker) -> {
                int c0 = t * INVERSE_COLS;
                invertColumns(a, n, lRows, first, i1, c0, Math.min(i1, c0 + INVERSE_COLS), panels[worker]);
            });
        }
    }

    /** Rows [i0, i1) of L⁻¹, columns [c0, c1); rows before i0 are already inverted. */
    private static void invertColumns(double[] a, int n, double[] lRows, int i0, int i1, int c0, int c1,
                                      double[] panel) {
        for (int i = i0; i < i1; i++) {
            java.util.Arrays.fill(a, i * n + c0, i * n + Math.min(c1, i + 1), 0);
        }
        // finished rows k < i0 (X[k, c] = 0 for k < c, so k starts at c0)
        int cEnd = Math.min(c1, i0);
        int quads = i0 + (i1 - i0) / PanelProduct.ROWS * PanelProduct.ROWS;
        for (int k0 = c0; k0 < i0; k0 += K_CHUNK) {
            int count = Math.min(i0, k0 + K_CHUNK) - k0;
            for (int c = c0; c < cEnd; c += PanelProduct.WIDTH) {
                int width = Math.min(PanelProduct.WIDTH, cEnd - c);
                PanelProduct.pack(a, k0 * n + c, n, count, width, panel);
                int i = i0;
                if (width == PanelProduct.WIDTH) {
                    for (; i < quads; i += PanelProduct.ROWS) {
                        PanelProduct.addTile(a, i * n + c, n, lRows, (i - i0) * n + k0, n, panel, count);
                    }
                }
                for (; i < i1; i++) {
                    PanelProduct.addRow(a, i * n + c, lRows, (i - i0) * n + k0, panel, 0, count, width);
                }
            }
        }
        // rows of this block, in order
        for (int i = i0; i < i1; i++) {
            int li = (i - i0) * n;
            int ri = i * n;
            for (int k = i0; k < i; k++) {
                double l = lRows[li + k];
                int rk = k * n;
                for (int c = c0; c < Math.min(c1, k + 1); c++) {
                    a[ri + c] += l * a[rk + c];
                }
            }
            double lii = lRows[li + i];
            for (int c = c0; c < Math.min(c1, i); c++) {
                a[ri + c] = -a[ri + c] / lii;
            }
            if (i >= c0 && i < c1) {
                a[ri + i] = 1 / lii;
            }
        }
    }

    /** a ← J·a·J (J the exchange matrix): entry (r, c) moves to (n−1−r, n−1−c), i.e. the flat array reversed. */
    static void reverse(double[] a) {
        for (int x = 0, y = a.length - 1; x < y; x++, y--) {
            double t = a[x];
            a[x] = a[y];
            a[y] = t;
        }
    }
}
