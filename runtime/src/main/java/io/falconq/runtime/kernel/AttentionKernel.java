package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal scaled-dot-product attention of one query head against its KV head's cache:
 * {@code o_t = Σ_{s ≤ pos(t)} softmax_s(q_t·k_s · scale) · v_s}. Keys are cached transposed, {@code (hd, capacity)},
 * so the vector path computes the scores of L consecutive positions as hd broadcast-FMAs (no horizontal
 * reduction); the softmax exponentials use {@link Math#exp}; values are accumulated position by position.
 */
public final class AttentionKernel {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();

    private AttentionKernel() {
    }

    /** Rounds a cache capacity up so that whole vectors of positions can be read. */
    public static int paddedCapacity(int capacity) {
        return (capacity + L - 1) / L * L;
    }

    /**
     * For query rows t in [t0, t1) at absolute positions {@code pos0 + t}.
     *
     * @param keysT   (hd, cap) keys of the KV head, starting at {@code kOff}
     * @param values  (cap, vStride) rows; this KV head's hd values at column {@code vOff}
     * @param scores  scratch of at least {@code paddedCapacity(pos0 + t1)} floats
     */
    public static void attend(float[] q, int qStride, int qOff, int t0, int t1, int pos0,
                              float[] keysT, int kOff, int cap, float[] values, int vStride, int vOff, int hd,
                              float scale, float[] out, int outStride, int outOff, float[] scores) {
        for (int t = t0; t < t1; t++) {
            int n = pos0 + t + 1;
            int qBase = t * qStride + qOff;
            if (KernelMode.VECTOR) {
                scoresVector(q, qBase, keysT, kOff, cap, hd, n, scores);
            } else {
                scoresScalar(q, qBase, keysT, kOff, cap, hd, n, scores);
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < n; s++) {
                float v = scores[s] * scale;
                scores[s] = v;
                max = Math.max(max, v);
            }
            double sum = 0;
            for (int s = 0; s < n; s++) {
                float e = (float) Math.exp(scores[s] - max);
                scores[s] = e;
                sum += e;
            }
            float total = (float) sum;
            int oBase = t * outStride + outOff;
            java.util.Arrays.fill(out, oBase, oBase + hd, 0f);
            for (int s = 0; s < n; s++) {
                VectorOps.axpy(scores[s] / total, values, s * vStride + vOff, out, oBase, hd);
            }
        }
    }

    public static void scoresScalar(float[] q, int qBase, float[] keysT, int kOff, int cap, int hd, int n, float[] scores) {
        for (int s = 0; s < n; s++) {
            float acc = 0f;
            for (int d = 0; d < hd; d++) {
                acc += q[qBase + d] * keysT[kOff + d * cap + s];
            }
            scores[s] = acc;
        }
    }

    public static void scoresVector(float[] q, int qBase, float[] keysT, int kOff, int cap, int hd, int n, float[] scores) {
        for (int s = 0; s < n; s += L) {
            FloatVector acc = FloatVector.zero(F);
            int k = kOff + s;
            for (int d = 0; d < hd; d++, k += cap) {
                acc = FloatVector.fromArray(F, keysT, k).fma(FloatVector.broadcast(F, q[qBase + d]), acc);
            }
            acc.intoArray(scores, s);
        }
    }
}
