package io.falconq.core.intquant;

import io.falconq.core.quant.VectorMode;

/**
 * Scale and zero point of one group of weights (one output row × one group of input columns), ported from
 * AutoGPTQ's {@code Quantizer.find_params} (auto_gptq/quantization/quantizer.py), which GPTQModel keeps:
 * <pre>
 *   xmin = min(min(x), 0); xmax = max(max(x), 0)
 *   sym:  xmax = max(|xmin|, xmax); xmin = −xmax if xmin &lt; 0
 *   xmin = −1, xmax = +1 when both are 0
 *   scale = (xmax − xmin) / maxq
 *   zero  = (maxq + 1) / 2 if sym else round(−xmin / scale)
 *   q     = clamp(round(x / scale) + zero, 0, maxq)          (round half to even, as torch.round)
 * </pre>
 * One deliberate difference: the scale is rounded to fp16 <em>before</em> quantizing, because the checkpoint
 * stores fp16 scales; AutoGPTQ quantizes with the fp32 scale and re-derives the integers from fp16 scales at
 * pack time ({@code QuantLinear.pack}), which can move a value by one level. Here quantize and dequantize use
 * the same number.
 *
 * <p>Second difference: an asymmetric zero point is at least 1, because the v1 layout stores zero − 1 in an
 * unsigned field (AutoGPTQ's pack writes −1 as 0xFFFFFFFF into the packed word, corrupting its neighbours).
 * It only matters for a group with no negative weight.
 *
 * <p>{@link #clipSearch} is the importance-weighted form of that file's {@code mse=True} search: shrink the range
 * by p ∈ {1, 0.99, …, 0.21} and keep the p with the least Σ importance_j · (x_j − dq(x_j))².
 */
public final class GroupQuantizer {
    /** Candidate shrink factors p = 1 − i/GRID for i &lt; MAX_SHRINK·GRID, as GPTQ's grid=100, maxshrink=0.8. */
    public static final int GRID = 100;
    public static final double MAX_SHRINK = 0.8;
    /** Smallest positive fp16 (subnormal); a group of zeros or of sub-fp16 values falls back to it. */
    private static final float MIN_FP16 = Float.float16ToFloat((short) 1);

    private GroupQuantizer() {
    }

    /** Scale (fp16-exact) and integer zero point. */
    public record Params(float scale, int zero) {
    }

    /** Min/max parameters for {@code x[off .. off+len)}. */
    public static Params minMax(float[] x, int off, int len, IntQuantScheme s) {
        float xmin = 0;
        float xmax = 0;
        for (int j = off; j < off + len; j++) {
            xmin = Math.min(xmin, x[j]);
            xmax = Math.max(xmax, x[j]);
        }
        return fromRange(xmin, xmax, s);
    }

    /** Parameters for the range [xmin, xmax] (xmin ≤ 0 ≤ xmax). */
    public static Params fromRange(float xmin, float xmax, IntQuantScheme s) {
        int maxq = s.maxq();
        if (s.symmetric()) {
            xmax = Math.max(Math.abs(xmin), xmax);
            if (xmin < 0) {
                xmin = -xmax;
            }
        }
        if (xmin == 0 && xmax == 0) {
            xmin = -1;
            xmax = 1;
        }
        float scale = toFp16((xmax - xmin) / maxq);
        // asymmetric zero ≥ 1: the v1 checkpoint stores zero − 1 in an unsigned field, so 0 cannot be stored
        int zero = s.symmetric() ? (maxq + 1) / 2 : clamp((int) Math.rint(-xmin / scale), 1, maxq);
        return new Params(scale, zero);
    }

    /**
     * Searches the clipping ratio that minimises the importance-weighted squared error of the group.
     *
     * @param importance per input column (e.g. the imatrix mean of x²), indexed like {@code x} from {@code impOff};
     *                   null means uniform
     */
    public static Params clipSearch(float[] x, int off, int len, IntQuantScheme s, float[] importance, int impOff) {
        float xmin = 0;
        float xmax = 0;
        for (int j = off; j < off + len; j++) {
            xmin = Math.min(xmin, x[j]);
            xmax = Math.max(xmax, x[j]);
        }
        Params best = fromRange(xmin, xmax, s);
        double bestErr = weightedError(x, off, len, best, s.maxq(), importance, impOff);
        int steps = (int) (MAX_SHRINK * GRID);
        for (int i = 1; i < steps; i++) {
            double p = 1.0 - (double) i / GRID;
            Params cand = fromRange((float) (p * xmin), (float) (p * xmax), s);
            double err = weightedError(x, off, len, cand, s.maxq(), importance, impOff);
            if (err < bestErr) {
                bestErr = err;
                best = cand;
            }
        }
        return best;
    }

    /** AutoAWQ {@code auto_clip}'s grid: 20 steps, shrink at most to half the range. */
    public static final int AWQ_CLIP_GRID = 20;
    public static final double AWQ_CLIP_MAX_SHRINK = 0.5;

    /**
     * AutoAWQ's {@code _compute_best_clip} (awq/quantize/quantizer.py): shrink the group's range by
     * p ∈ {1, 0.95, …, 0.55} and keep the p with the least output error of this group alone,
     * {@code Σ_t (x_t · (w − dq(w)))² = dᵀ H d} over the group's block of the Hessian ({@code H = 2/n XᵀX}; AutoAWQ
     * uses a sample of the same activations).
     *
     * @param h      the Hessian of the whole input, (in, in)
     * @param hOff   index in {@code h} of the group's first column
     */
    public static Params clipSearchHessian(float[] x, int off, int len, IntQuantScheme s, double[][] h, int hOff) {
        float xmin = 0;
        float xmax = 0;
        for (int j = off; j < off + len; j++) {
            xmin = Math.min(xmin, x[j]);
            xmax = Math.max(xmax, x[j]);
        }
        Params[] candidates = new Params[(int) (AWQ_CLIP_MAX_SHRINK * AWQ_CLIP_GRID)];
        for (int i = 0; i < candidates.length; i++) {
            double p = 1.0 - (double) i / AWQ_CLIP_GRID;
            candidates[i] = fromRange((float) (p * xmin), (float) (p * xmax), s);
        }
        double[] err = VectorMode.ENABLED
                ? HessianBlockErrors.vector(x, off, len, candidates, s.maxq(), h, hOff)
                : HessianBlockErrors.scalar(x, off, len, candidates, s.maxq(), h, hOff);
        Params best = null;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int i = 0; i < candidates.length; i++) {
            if (err[i] < bestErr) {
                bestErr = err[i];
                best = candidates[i];
            }
        }
        return best;
    }

    static double weightedError(float[] x, int off, int len, Params p, int maxq, float[] importance, int impOff) {
        double err = 0;
        for (int j = 0; j < len; j++) {
            float v = x[off + j];
            float d = v - dequantize(quantize(v, p, maxq), p);
            double w = importance == null ? 1.0 : importance[impOff + j];
            err += w * d * d;
        }
        return err;
    }

    /** clamp(round(x / scale) + zero, 0, maxq), round half to even. */
    public static int quantize(float x, Params p, int maxq) {
        return clamp((int) Math.rint(x / p.scale()) + p.zero(), 0, maxq);
    }

    public static float dequantize(int q, Params p) {
        return p.scale() * (q - p.zero());
    }

    /** Rounds to the nearest fp16 value (ties to even); never 0 or infinite. */
    static float toFp16(float v) {
        float h = Float.float16ToFloat(Float.floatToFloat16(v));
        if (h == 0f) {
            return MIN_FP16;
        }
        if (Float.isInfinite(h) || Float.isNaN(h)) {
            throw new IllegalArgumentException("quantization scale " + v + " does not fit fp16 (weights too large"
                    + " or not finite)");
        }
        return h;
    }

    private static int clamp(int v, int lo, int hi) {
        return v < lo ? lo : Math.min(v, hi);
    }
}
