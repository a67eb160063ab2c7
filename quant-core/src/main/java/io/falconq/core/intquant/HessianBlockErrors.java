package io.falconq.core.intquant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The output error {@code dᵀ H d} of one group under each candidate of {@link GroupQuantizer#clipSearchHessian},
 * {@code d = x − dq(q(x))} over the group's block of the Hessian. Each candidate's sum runs in the same order in
 * both paths ({@code err = Σ_a d_a · (Σ_b H_ab d_b)}, a and b ascending, the terms with {@code d_a = 0} left
 * out), so they give the same doubles: the vector path only runs the candidates side by side, one per lane, where
 * the scalar path waits on one addition chain at a time.
 */
final class HessianBlockErrors {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Per thread: the candidates' d, transposed ({@code d[b·stride + candidate]}). */
    private static final ThreadLocal<double[]> SCRATCH = ThreadLocal.withInitial(() -> new double[0]);

    private HessianBlockErrors() {
    }

    /** The readable reference: one candidate after the other. */
    static double[] scalar(float[] x, int off, int len, GroupQuantizer.Params[] candidates, int maxq, double[][] h,
                           int hOff) {
        double[] err = new double[candidates.length];
        double[] d = new double[len];
        for (int c = 0; c < candidates.length; c++) {
            for (int j = 0; j < len; j++) {
                d[j] = residual(x[off + j], candidates[c], maxq);
            }
            double e = 0;
            for (int a = 0; a < len; a++) {
                if (d[a] == 0) {
                    continue;
                }
                double[] row = h[hOff + a];
                double acc = 0;
                for (int b = 0; b < len; b++) {
                    acc += row[hOff + b] * d[b];
                }
                e += d[a] * acc;
            }
            err[c] = e;
        }
        return err;
    }

    /** Candidates in lanes, four rows of the block at a time (four independent chains per lane). */
    static double[] vector(float[] x, int off, int len, GroupQuantizer.Params[] candidates, int maxq, double[][] h,
                           int hOff) {
        int lanes = D.length();
        int stride = (candidates.length + lanes - 1) / lanes * lanes;
        double[] d = scratch(len * stride);
        for (int j = 0; j < len; j++) {
            int c = 0;
            for (; c < candidates.length; c++) {
                d[j * stride + c] = residual(x[off + j], candidates[c], maxq);
            }
            for (; c < stride; c++) {
                d[j * stride + c] = 0;
            }
        }
        double[] err = new double[stride];
        for (int c0 = 0; c0 < stride; c0 += lanes) {
            DoubleVector e = DoubleVector.zero(D);
            int a = 0;
            for (; a + 4 <= len; a += 4) {
                double[] r0 = h[hOff + a];
                double[] r1 = h[hOff + a + 1];
                double[] r2 = h[hOff + a + 2];
                double[] r3 = h[hOff + a + 3];
                DoubleVector acc0 = DoubleVector.zero(D);
                DoubleVector acc1 = DoubleVector.zero(D);
                DoubleVector acc2 = DoubleVector.zero(D);
                DoubleVector acc3 = DoubleVector.zero(D);
                for (int b = 0; b < len; b++) {
                    DoubleVector db = DoubleVector.fromArray(D, d, b * stride + c0);
                    acc0 = acc0.add(db.mul(r0[hOff + b]));
                    acc1 = acc1.add(db.mul(r1[hOff + b]));
                    acc2 = acc2.add(db.mul(r2[hOff + b]));
                    acc3 = acc3.add(db.mul(r3[hOff + b]));
                }
                e = addRow(e, d, a * stride + c0, acc0);
                e = addRow(e, d, (a + 1) * stride + c0, acc1);
                e = addRow(e, d, (a + 2) * stride + c0, acc2);
                e = addRow(e, d, (a + 3) * stride + c0, acc3);
            }
            for (; a < len; a++) {
                double[] r = h[hOff + a];
                DoubleVector acc = DoubleVector.zero(D);
                for (int b = 0; b < len; b++) {
                    acc = acc.add(DoubleVector.fromArray(D, d, b * stride + c0).mul(r[hOff + b]));
                }
                e = addRow(e, d, a * stride + c0, acc);
            }
            e.intoArray(err, c0);
        }
        return java.util.Arrays.copyOf(err, candidates.length);
    }

    /** {@code e += d_a · acc} in the lanes where d_a ≠ 0, as the scalar path skips the others. */
    private static DoubleVector addRow(DoubleVector e, double[] d, int at, DoubleVector acc) {
        DoubleVector da = DoubleVector.fromArray(D, d, at);
        return e.add(da.mul(acc), da.compare(VectorOperators.NE, 0));
    }

    private static double residual(float v, GroupQuantizer.Params p, int maxq) {
        return v - GroupQuantizer.dequantize(GroupQuantizer.quantize(v, p, maxq), p);
    }

    private static double[] scratch(int n) {
        double[] s = SCRATCH.get();
        if (s.length < n) {
            s = new double[n];
            SCRATCH.set(s);
        }
        return s;
    }
}
