package io.falconq.calib;

import io.falconq.quant.LaneSum;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Accumulates the GPTQ Hessian of one linear input, {@code H = 2/n · Σ x xᵀ} over the n token rows seen
 * (AutoGPTQ {@code GPTQ.add_batch}, which keeps the running mean; we keep the raw sum in double and divide at
 * the end, which is the same number with less rounding). Only the upper triangle is accumulated.
 *
 * <p>Per call, each entry is a float dot product over the call's rows (≤ a few hundred tokens) with the Vector
 * API, then added to the double total, so the order of additions is fixed and the result does not depend on threads.
 */
public final class HessianAccumulator {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final int cols;
    private final double[] sum;      // (cols, cols) upper triangle, row-major
    private long rows;

    public HessianAccumulator(int cols) {
        this.cols = cols;
        this.sum = new double[Math.multiplyExact(cols, cols)];
    }

    public int columns() {
        return cols;
    }

    public long rows() {
        return rows;
    }

    /** Adds {@code n} rows of {@code cols} values (row-major). */
    public void add(float[] x, int n, int cols) {
        if (cols != this.cols) {
            throw new IllegalArgumentException("Hessian of " + this.cols + " columns cannot take rows of " + cols);
        }
        // column-major copy so every entry is a dot product of two contiguous columns of length n
        float[] t = new float[cols * n];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < cols; i++) {
                t[i * n + r] = x[r * cols + i];
            }
        }
        int bound = F.loopBound(n);
        for (int i = 0; i < cols; i++) {
            int oi = i * n;
            int j = i;
            for (; j + 3 < cols; j += 4) {
                int o0 = j * n;
                int o1 = o0 + n;
                int o2 = o1 + n;
                int o3 = o2 + n;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                int r = 0;
                for (; r < bound; r += F.length()) {
                    FloatVector xi = FloatVector.fromArray(F, t, oi + r);
                    a0 = xi.fma(FloatVector.fromArray(F, t, o0 + r), a0);
                    a1 = xi.fma(FloatVector.fromArray(F, t, o1 + r), a1);
                    a2 = xi.fma(FloatVector.fromArray(F, t, o2 + r), a2);
                    a3 = xi.fma(FloatVector.fromArray(F, t, o3 + r), a3);
                }
                float s0 = LaneSum.sum(a0);
                float s1 = LaneSum.sum(a1);
                float s2 = LaneSum.sum(a2);
                float s3 = LaneSum.sum(a3);
                for (; r < n; r++) {
                    float xi = t[oi + r];
                    s0 += xi * t[o0 + r];
                    s1 += xi * t[o1 + r];
                    s2 += xi * t[o2 + r];
                    s3 += xi * t[o3 + r];
                }
                int row = i * cols;
                sum[row + j] += s0;
                sum[row + j + 1] += s1;
                sum[row + j + 2] += s2;
                sum[row + j + 3] += s3;
            }
            for (; j < cols; j++) {
                int oj = j * n;
                FloatVector a = FloatVector.zero(F);
                int r = 0;
                for (; r < bound; r += F.length()) {
                    a = FloatVector.fromArray(F, t, oi + r).fma(FloatVector.fromArray(F, t, oj + r), a);
                }
                float s = LaneSum.sum(a);
                for (; r < n; r++) {
                    s += t[oi + r] * t[oj + r];
                }
                sum[i * cols + j] += s;
            }
        }
        rows += n;
    }

    /** {@code 2/n · XᵀX} as a full symmetric matrix, or all zeros if nothing was seen. */
    public double[][] hessian() {
        double[][] h = new double[cols][cols];
        double f = rows == 0 ? 0 : 2.0 / rows;
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = sum[i * cols + j] * f;
                h[i][j] = v;
                h[j][i] = v;
            }
        }
        return h;
    }

    /** Mean of x² per column (the diagonal of XᵀX / n). */
    public double[] meanSquares() {
        double[] d = new double[cols];
        for (int i = 0; i < cols; i++) {
            d[i] = rows == 0 ? 0 : sum[i * cols + i] / rows;
        }
        return d;
    }

}
