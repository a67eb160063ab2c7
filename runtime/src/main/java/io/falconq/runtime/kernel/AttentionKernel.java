package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal scaled-dot-product attention of one query head against its KV head's cache:
 * {@code o_t = Σ_{s ≤ pos(t)} softmax_s(q_t·k_s · scale) · v_s}, as the reference's eager attention computes it
 * ({@code softmax(q·kᵀ·scaling + causal mask)} then {@code · v}).
 *
 * <p>Keys are cached transposed, {@code (hd, capacity)}, so the scores of L consecutive positions are hd
 * broadcast-FMAs and no horizontal reduction is needed. Queries are processed four at a time (scores and the
 * probability–value product share each loaded key/value vector). Every output element is one FMA chain in a fixed
 * order (over d for a score, over s for an output; a query's masked positions beyond its own contribute exact
 * zeros), so a query gives the same bits whether it is computed in a block of four or alone, and the exponentials
 * go through {@link Exp}: results depend neither on the thread count nor on the blocking.
 */
public final class AttentionKernel {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    /** Queries per block. */
    public static final int QB = 4;

    private AttentionKernel() {
    }

    /** Rounds a cache capacity up so that whole vectors of positions can be read. */
    public static int paddedCapacity(int capacity) {
        return (capacity + L - 1) / L * L;
    }

    /** Scratch floats {@link #attend} needs for sequences of up to {@code positions} tokens. */
    public static int scratchSize(int positions) {
        return QB * paddedCapacity(positions);
    }

    /**
     * For query rows t in [t0, t1) at absolute positions {@code pos0 + t}.
     *
     * @param keysT   (hd, ks) keys of the KV head, starting at {@code kOff}; ks ≥ paddedCapacity(pos0 + t1)
     * @param values  (capacity, vStride) rows; this KV head's hd values at column {@code vOff}
     * @param scratch at least {@link #scratchSize}{@code (pos0 + t1)} floats
     */
    public static void attend(float[] q, int qStride, int qOff, int t0, int t1, int pos0,
                              float[] keysT, int kOff, int ks, float[] values, int vStride, int vOff, int hd,
                              float scale, float[] out, int outStride, int outOff, float[] scratch) {
        int rowStride = paddedCapacity(pos0 + t1);
        for (int t = t0; t < t1; t += QB) {
            int nq = Math.min(QB, t1 - t);
            int nMax = pos0 + t + nq; // keys seen by the last query of the block
            int padded = paddedCapacity(nMax);
            // scores
            if (!KernelMode.VECTOR) {
                for (int i = 0; i < nq; i++) {
                    scoresScalar(q, (t + i) * qStride + qOff, keysT, kOff, ks, hd, nMax, scratch, i * rowStride);
                }
            } else if (nq == QB) {
                scores4(q, t * qStride + qOff, qStride, keysT, kOff, ks, hd, padded, scratch, rowStride);
            } else {
                for (int i = 0; i < nq; i++) {
                    scores1(q, (t + i) * qStride + qOff, keysT, kOff, ks, hd, padded, scratch, i * rowStride);
                }
            }
            // softmax per query over its own positions; zero the rest of the block's range
            for (int i = 0; i < nq; i++) {
                int row = i * rowStride;
                int n = pos0 + t + i + 1;
                VectorOps.scale(scratch, row, n, scale);
                float max = VectorOps.max(scratch, row, n);
                float sum = Exp.expShiftedInPlace(scratch, row, n, max);
                float inv = 1f / sum;
                for (int s = 0; s < n; s++) {
                    scratch[row + s] = scratch[row + s] * inv;
                }
                java.util.Arrays.fill(scratch, row + n, row + nMax, 0f);
            }
            // o = p · v
            if (!KernelMode.VECTOR) {
                for (int i = 0; i < nq; i++) {
                    pvScalar(scratch, i * rowStride, nMax, values, vStride, vOff, hd, out, (t + i) * outStride + outOff);
                }
            } else if (nq == QB) {
                pv4(scratch, rowStride, nMax, values, vStride, vOff, hd, out, t * outStride + outOff, outStride);
            } else {
                for (int i = 0; i < nq; i++) {
                    pv1(scratch, i * rowStride, nMax, values, vStride, vOff, hd, out, (t + i) * outStride + outOff);
                }
            }
        }
    }

    // ---- scalar reference ------------------------------------------------------------------------------------

    static void scoresScalar(float[] q, int qBase, float[] keysT, int kOff, int ks, int hd, int n, float[] dst, int dOff) {
        for (int s = 0; s < n; s++) {
            float acc = 0f;
            for (int d = 0; d < hd; d++) {
                acc += q[qBase + d] * keysT[kOff + d * ks + s];
            }
            dst[dOff + s] = acc;
        }
    }

    static void pvScalar(float[] p, int pOff, int n, float[] values, int vStride, int vOff, int hd, float[] out, int oOff) {
        for (int d = 0; d < hd; d++) {
            float acc = 0f;
            for (int s = 0; s < n; s++) {
                acc += p[pOff + s] * values[s * vStride + vOff + d];
            }
            out[oOff + d] = acc;
        }
    }

    // ---- Vector API ------------------------------------------------------------------------------------------

    private static void scores1(float[] q, int qBase, float[] keysT, int kOff, int ks, int hd, int padded,
                                float[] dst, int dOff) {
        for (int s = 0; s < padded; s += L) {
            FloatVector acc = FloatVector.zero(F);
            int k = kOff + s;
            for (int d = 0; d < hd; d++, k += ks) {
                acc = FloatVector.broadcast(F, q[qBase + d]).fma(FloatVector.fromArray(F, keysT, k), acc);
            }
            acc.intoArray(dst, dOff + s);
        }
    }

    private static void scores4(float[] q, int qBase, int qStride, float[] keysT, int kOff, int ks, int hd, int padded,
                                float[] dst, int rowStride) {
        int q0 = qBase;
        int q1 = q0 + qStride;
        int q2 = q1 + qStride;
        int q3 = q2 + qStride;
        for (int s = 0; s < padded; s += L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int k = kOff + s;
            for (int d = 0; d < hd; d++, k += ks) {
                FloatVector kv = FloatVector.fromArray(F, keysT, k);
                a0 = FloatVector.broadcast(F, q[q0 + d]).fma(kv, a0);
                a1 = FloatVector.broadcast(F, q[q1 + d]).fma(kv, a1);
                a2 = FloatVector.broadcast(F, q[q2 + d]).fma(kv, a2);
                a3 = FloatVector.broadcast(F, q[q3 + d]).fma(kv, a3);
            }
            a0.intoArray(dst, s);
            a1.intoArray(dst, rowStride + s);
            a2.intoArray(dst, 2 * rowStride + s);
            a3.intoArray(dst, 3 * rowStride + s);
        }
    }

    private static void pv1(float[] p, int pOff, int n, float[] values, int vStride, int vOff, int hd,
                            float[] out, int oOff) {
        int dv = hd - hd % L;
        for (int d = 0; d < dv; d += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int s = 0; s < n; s++) {
                acc = FloatVector.broadcast(F, p[pOff + s]).fma(FloatVector.fromArray(F, values, s * vStride + vOff + d), acc);
            }
            acc.intoArray(out, oOff + d);
        }
        for (int d = dv; d < hd; d++) {
            float acc = 0f;
            for (int s = 0; s < n; s++) {
                acc = Math.fma(p[pOff + s], values[s * vStride + vOff + d], acc);
            }
            out[oOff + d] = acc;
        }
    }

    private static void pv4(float[] p, int rowStride, int n, float[] values, int vStride, int vOff, int hd,
                            float[] out, int oOff, int outStride) {
        int dv = hd - hd % L;
        for (int d = 0; d < dv; d += L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int s = 0; s < n; s++) {
                FloatVector v = FloatVector.fromArray(F, values, s * vStride + vOff + d);
                a0 = FloatVector.broadcast(F, p[s]).fma(v, a0);
                a1 = FloatVector.broadcast(F, p[rowStride + s]).fma(v, a1);
                a2 = FloatVector.broadcast(F, p[2 * rowStride + s]).fma(v, a2);
                a3 = FloatVector.broadcast(F, p[3 * rowStride + s]).fma(v, a3);
            }
            a0.intoArray(out, oOff + d);
            a1.intoArray(out, oOff + outStride + d);
            a2.intoArray(out, oOff + 2 * outStride + d);
            a3.intoArray(out, oOff + 3 * outStride + d);
        }
        for (int i = 0; i < QB; i++) {
            for (int d = dv; d < hd; d++) {
                float acc = 0f;
                for (int s = 0; s < n; s++) {
                    acc = Math.fma(p[i * rowStride + s], values[s * vStride + vOff + d], acc);
                }
                out[oOff + i * outStride + d] = acc;
            }
        }
    }
}
