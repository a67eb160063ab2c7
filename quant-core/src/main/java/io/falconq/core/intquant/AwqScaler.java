package io.falconq.core.intquant;

import io.falconq.core.parallel.WorkerPool;

/**
 * AWQ's per-input-channel scale search (Lin et al. 2023), ported from AutoAWQ's {@code _search_best_scale}
 * (awq/quantize/quantizer.py, {@code duo_scaling=True}): for ratio r in {0, 1/20, …, 19/20}
 * <pre>
 *   s = clamp(mean|x|^r / (w_mean^(1−r) + 1e-4), min 1e-4);  s /= sqrt(max(s)·min(s))
 *   loss(s) = ‖block(x; W_q) − block(x; W)‖²   with W_q = Q(W·diag s)·diag(1/s) for the scaled linears
 * </pre>
 * where w_mean is the per-column mean over output rows of |W| normalised by each row-group's max |W|, and Q is
 * round-to-nearest with the target scheme. With duo scaling r = 0 gives s = 1/w_mean, not s ≡ 1: as in AutoAWQ,
 * plain RTN is not among the candidates.
 *
 * <p>The loss is the caller's ({@link #searchBy}): the int-quant job scores each candidate by running the layer's
 * own forward pass with the candidate's linears quantized (AutoAWQ's {@code module2inspect}, quant-jobs
 * {@code AwqLayerMethod}). {@link #search} is the closed form for a set of linears scored on their own outputs,
 * {@code Σ_linears Σ_o d_o H d_oᵀ} with {@code H = 2/n XᵀX} and {@code d = W − W_q} (the same sum over all
 * calibration tokens as {@code ‖X·(W − W_q)ᵀ‖²}, up to 2/n, without keeping them), each output row weighted by
 * {@link Consumer#rowWeight}.
 */
public final class AwqScaler {
    /** AutoAWQ's {@code n_grid}. */
    public static final int GRID = 20;
    /** Output rows per pool task of {@link #quantizedUnscaled(float[], int, int, float[], IntQuantScheme, WorkerPool, float[])}. */
    private static final int ROWS_PER_TASK = 16;

    private AwqScaler() {
    }

    /**
     * A linear layer reading the scaled input: (out, in) row-major weight, and per output row the weight of its
     * squared error in the loss (null = 1). Falcon-H1's µP multipliers scale linear outputs differently per layer
     * and per in_proj segment (SPEC.md §1.3), so errors are weighted by (input multiplier · row multiplier)² to
     * measure them where the next op sees them.
     */
    public record Consumer(float[] weight, int out, float[] rowWeight) {
        public Consumer(float[] weight, int out) {
            this(weight, out, null);
        }
    }

    /**
     * @param meanAbs per input column mean |x| (length in)
     * @param hessian (in, in)
     * @return the best scale vector (length in), by which consumer columns are multiplied and the producer divided
     */
    public static float[] search(float[] meanAbs, double[][] hessian, Consumer[] consumers, int in, IntQuantScheme s) {
        return search(meanAbs, hessian, consumers, in, s, null);
    }

    /**
     * As {@link #search(float[], double[][], Consumer[], int, IntQuantScheme)}, with input channels tied into
     * classes that must share one scale ({@code tiedClass[i]}; null = no ties): statistics are averaged per class,
     * so the result is constant on each class. Used for o_proj under GQA, where the query heads that read one kv
     * head can only absorb one scale from v_proj's rows.
     */
    public static float[] search(float[] meanAbs, double[][] hessian, Consumer[] consumers, int in, IntQuantScheme s,
                                 int[] tiedClass) {
        return searchBy(meanAbs, consumers, in, s, tiedClass, scales -> {
            double loss = 0;
            for (Consumer c : consumers) {
                loss += scaledLoss(c, scales, hessian, in, s);
            }
            return loss;
        });
    }

    /**
     * The grid search with any loss: candidates from the consumers' statistics ({@link #candidate}, tied as in
     * {@link #search(float[], double[][], Consumer[], int, IntQuantScheme, int[])}), the one of lowest
     * {@code loss} wins (the first on ties).
     */
    public static float[] searchBy(float[] meanAbs, Consumer[] consumers, int in, IntQuantScheme s, int[] tiedClass,
                            java.util.function.ToDoubleFunction<float[]> loss) {
        meanAbs = tie(meanAbs, tiedClass);
        double[] wMean = weightMean(consumers, in, s);
        if (tiedClass != null) {
            float[] wm = new float[in];
            for (int i = 0; i < in; i++) {
                wm[i] = (float) wMean[i];
            }
            wm = tie(wm, tiedClass);
            for (int i = 0; i < in; i++) {
                wMean[i] = wm[i];
            }
        }
        float[] best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (int step = 0; step < GRID; step++) {
            float[] scales = candidate((double) step / GRID, meanAbs, wMean, in);
            double l = loss.applyAsDouble(scales);
            if (l < bestLoss) {
                bestLoss = l;
                best = scales;
            }
        }
        return best;
    }

    /**
     * Q(W·diag s)·diag(1/s): the weight the scaled, quantized linear computes with, in the unscaled input basis.
     * Round to nearest group by group as {@link RtnQuantizer} does without clipping, the same floats, but in one
     * array.
     */
    public static float[] quantizedUnscaled(float[] w, int out, int in, float[] scales, IntQuantScheme s) {
        float[] ws = new float[out * in];
        quantizedUnscaledRows(w, in, scales, s, ws, 0, out);
        return ws;
    }

    /**
     * {@link #quantizedUnscaled(float[], int, int, float[], IntQuantScheme)} into {@code dst} (out·in, overwritten),
     * in fixed blocks of rows on {@code pool}: the same floats for any thread count. A search reuses one
     * {@code dst} per consumer for all its candidates.
     */
    public static void quantizedUnscaled(float[] w, int out, int in, float[] scales, IntQuantScheme s,
                                         WorkerPool pool, float[] dst) {
        pool.forEach((out + ROWS_PER_TASK - 1) / ROWS_PER_TASK, (task, worker) -> quantizedUnscaledRows(w, in,
                scales, s, dst, task * ROWS_PER_TASK, Math.min(out, (task + 1) * ROWS_PER_TASK)));
    }

    private static void quantizedUnscaledRows(float[] w, int in, float[] scales, IntQuantScheme s, float[] ws,
                                              int o0, int o1) {
        int gs = s.effectiveGroupSize(in);
        int maxq = s.maxq();
        for (int o = o0; o < o1; o++) {
            int row = o * in;
            for (int i = 0; i < in; i++) {
                ws[row + i] = w[row + i] * scales[i];
            }
            for (int c0 = 0; c0 < in; c0 += gs) {
                int len = Math.min(gs, in - c0);
                GroupQuantizer.Params p = GroupQuantizer.minMax(ws, row + c0, len, s);
                for (int i = c0; i < c0 + len; i++) {
                    int q = GroupQuantizer.quantize(ws[row + i], p, maxq);
                    ws[row + i] = GroupQuantizer.dequantize(q, p) / scales[i];
                }
            }
        }
    }

    /** AutoAWQ's w_mean: per column, mean over all consumer rows of |W| / max|W| of the row's group. */
    static double[] weightMean(Consumer[] consumers, int in, IntQuantScheme s) {
        int gs = s.effectiveGroupSize(in);
        double[] wMean = new double[in];
        int rowsTotal = 0;
        for (Consumer c : consumers) {
            for (int o = 0; o < c.out; o++) {
                int base = o * in;
                for (int g0 = 0; g0 < in; g0 += gs) {
                    int g1 = Math.min(in, g0 + gs);
                    float mx = 0;
                    for (int i = g0; i < g1; i++) {
                        mx = Math.max(mx, Math.abs(c.weight[base + i]));
                    }
                    for (int i = g0; i < g1; i++) {
                        wMean[i] += Math.abs(c.weight[base + i]) / (mx + 1e-6);
                    }
                }
            }
            rowsTotal += c.out;
        }
        for (int i = 0; i < in; i++) {
            wMean[i] /= rowsTotal;
        }
        return wMean;
    }

    /** s = clamp(mean|x|^r / (w_mean^(1−r) + 1e-4), min 1e-4), normalised by sqrt(max·min). */
    static float[] candidate(double r, float[] meanAbs, double[] wMean, int in) {
        float[] scales = new float[in];
        double mx = 0;
        double mn = Double.POSITIVE_INFINITY;
        for (int i = 0; i < in; i++) {
            double v = Math.pow(meanAbs[i], r) / (Math.pow(wMean[i], 1 - r) + 1e-4);
            v = Math.max(v, 1e-4);
            scales[i] = (float) v;
            mx = Math.max(mx, v);
            mn = Math.min(mn, v);
        }
        double norm = Math.sqrt(mx * mn);
        for (int i = 0; i < in; i++) {
            scales[i] = (float) (scales[i] / norm);
        }
        return scales;
    }

    private static float[] tie(float[] v, int[] cls) {
        if (cls == null) {
            return v;
        }
        java.util.Map<Integer, double[]> acc = new java.util.HashMap<>();
        for (int i = 0; i < v.length; i++) {
            double[] a = acc.computeIfAbsent(cls[i], k -> new double[2]);
            a[0] += v[i];
            a[1] += 1;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            double[] a = acc.get(cls[i]);
            out[i] = (float) (a[0] / a[1]);
        }
        return out;
    }

    /** Σ_o d_o H d_oᵀ with d = W − Q(W·diag s)·diag(1/s). */
    static double scaledLoss(Consumer c, float[] scales, double[][] h, int in, IntQuantScheme s) {
        float[] wq = quantizedUnscaled(c.weight, c.out, in, scales, s);
        double loss = 0;
        double[] d = new double[in];
        for (int o = 0; o < c.out; o++) {
            double rw = c.rowWeight == null ? 1.0 : c.rowWeight[o];
            for (int i = 0; i < in; i++) {
                d[i] = c.weight[o * in + i] - wq[o * in + i];
            }
            for (int i = 0; i < in; i++) {
                if (d[i] == 0) {
                    continue;
                }
                double[] hi = h[i];
                double acc = 0;
                for (int j = 0; j < in; j++) {
                    acc += hi[j] * d[j];
                }
                loss += rw * d[i] * acc;
            }
        }
        return loss;
    }
}
