package io.falconq.jobs.intquant;

import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;

/**
 * The arithmetic of folding an AWQ scale vector s into a layer (HF {@code (out, in)} layout): the consumers'
 * columns are multiplied by s and the producer (a norm gain, or the rows of the linear that computes the input) is
 * divided by it, which leaves the float layer unchanged; the consumers' input Hessian becomes
 * {@code H_ij / (s_i s_j)}.
 */
final class AwqFolds {
    private AwqFolds() {
    }

    /** {@code w[o, i] *= s[i]}. */
    static void scaleColumns(float[] w, int in, float[] s) {
        for (int o = 0; o < w.length / in; o++) {
            for (int i = 0; i < in; i++) {
                w[o * in + i] *= s[i];
            }
        }
    }

    /** {@code w[r, ·] /= rowScale[r]}. */
    static void divideRows(float[] w, int in, float[] rowScale) {
        for (int r = 0; r < rowScale.length; r++) {
            for (int i = 0; i < in; i++) {
                w[r * in + i] /= rowScale[r];
            }
        }
    }

    /**
     * Divides the norm gain {@code role} by s, as the written checkpoint stores it ({@link LayerWork#replaceNorm}
     * rounds to the stored dtype), and returns the scale the consumers must take so that the float layer is
     * unchanged: {@code s_eff = gain / stored} (s itself where either is 0).
     */
    static float[] divideNorm(LayerWork work, TensorRole role, float[] s) {
        float[] gain = work.norm(role);
        float[] divided = new float[gain.length];
        for (int i = 0; i < gain.length; i++) {
            divided[i] = gain[i] / s[i];
        }
        float[] stored = work.replaceNorm(role, divided);
        float[] effective = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            effective[i] = stored[i] != 0 && gain[i] != 0 ? gain[i] / stored[i] : s[i];
        }
        return effective;
    }

    /** The Hessian of the input x / s, in place: {@code H_ij /= s_i s_j}. */
    static void scaleHessian(double[][] h, float[] s) {
        for (int i = 0; i < h.length; i++) {
            for (int j = 0; j < h.length; j++) {
                h[i][j] /= (double) s[i] * s[j];
            }
        }
    }

    /**
     * o_proj's input column j belongs to query head j / hd, which reads kv head (j / hd) / rep: the columns that
     * one v_proj row feeds share one class (GQA), so they can only absorb one scale.
     */
    static int[] oProjTies(FalconH1Config c) {
        int hd = c.headDim();
        int rep = c.gqaGroupSize();
        int[] cls = new int[c.qSize()];
        for (int j = 0; j < cls.length; j++) {
            cls[j] = (j / hd / rep) * hd + j % hd;
        }
        return cls;
    }

    /** The scale of each v_proj row from o_proj's (tied) column scale: that of the kv head's first query head. */
    static float[] vRowScale(FalconH1Config c, float[] oScale) {
        int hd = c.headDim();
        int rep = c.gqaGroupSize();
        float[] rows = new float[c.kvSize()];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = oScale[(r / hd) * rep * hd + r % hd];
        }
        return rows;
    }
}
