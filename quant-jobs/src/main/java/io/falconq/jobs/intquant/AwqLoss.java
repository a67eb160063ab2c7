package io.falconq.jobs.intquant;

/**
 * How {@link AwqLayerMethod} scores a candidate scale: the error of the layer's output residual (after the mixer
 * and the MLP) against the layer run with its float weights on the same input, over the first
 * {@link AwqLayerMethod#SEARCH_TOKENS} calibration tokens ({@link AwqProbe}).
 *
 * <p>Measured on the tiny model, int4 g128, calibration calib.txt (67 windows of 512), every layer quantized in
 * order from the residual through the quantized layers before it ({@code AwqTinyModelIT}), perplexity of
 * valid.txt in windows of 512 (float 65.2407; plain RTN +0.0863). Wall times on the shared 2-core machine, whole
 * model including the statistics pass: {@link #LAYER_OUTPUT} +0.0630 (0.73× RTN's Δppl, 31–46 s),
 * {@link #NORMED_OUTPUT} +0.0519 (0.60×, 27–34 s; +0.0537, 0.62×, with the scoring kept below). Tried and not
 * kept: the normed error after 1 or 3 further float layers (0.81×, 0.70×: worse and 1.5–2× the cost), channels
 * weighted by the next norm's gain² (0.60×, the same scales), 8,192 search tokens instead of 2,048 (0.58×, 75 s),
 * s ≡ 1 as a 21st candidate (never chosen).
 *
 * <p>Issue 14 asks for ≤ 0.5× RTN's Δppl; no loss or search below reaches it. Through the CLI ({@code quantize
 * --scheme w4 --method awq}, then {@code eval --data valid.txt}: BF16 65.8366, RTN +0.0855), each candidate scored
 * with only its own fold quantized (kept, {@link AwqLayerMethod}; same cost): {@link #NORMED_OUTPUT} +0.0497
 * (0.58×, 31–38 s), against 0.67× when scored on top of the earlier folds' quantized weights. Checked beside
 * valid.txt on the calibration text (RTN +0.0461: 0.23× kept, 0.54× before) and on the first 100 windows of
 * train.txt (RTN +0.0877: 0.79× kept, 0.76× before), so the gain is not robust: which grid point wins moves by
 * ±0.1× with the search sample (4 sequences spread over the calibration set instead of the first 4: 0.65×; 8,192
 * search tokens: 0.66×, 2× the time). Tried and not kept, same protocol: the KL divergence of the next-token
 * distribution with the rest of the network in float through the LM head, on the 2,048 search tokens (0.69×
 * scored on the earlier folds' quantized weights, 0.81× with only its own fold quantized; 0.97× and 0.96× on
 * train.txt; 140–150 s on tiny, and one float forward of every later layer plus the LM head per candidate, which
 * grows with depth); the candidates quantized with the final Hessian clip instead of round to nearest (0.64×,
 * 0.94× on train.txt, 69 s); q and k Hessian-clipped too (0.62×, 0.88× on train.txt).
 */
public enum AwqLoss {
    /** {@code Σ_t ‖h_t − h_t^float‖²}: the plain squared error of the residual stream leaving the layer. */
    LAYER_OUTPUT {
        @Override
        double tokenWeight(float[] reference, int off, int hidden) {
            return 1.0;
        }
    },
    /**
     * {@code Σ_t ‖h_t − h_t^float‖² / mean(h_t^float²)}: each token's error relative to its own residual's mean
     * square, which is what the next layer's RMSNorm divides by. Without it the few tokens with a very large
     * residual (the first of a sequence) decide the scale although every later norm scales their error away.
     */
    NORMED_OUTPUT {
        @Override
        double tokenWeight(float[] reference, int off, int hidden) {
            double ss = 0;
            for (int i = off; i < off + hidden; i++) {
                ss += (double) reference[i] * reference[i];
            }
            return ss == 0 ? 1.0 : hidden / ss;
        }
    };

    /** The weight of one token's squared error, from its float output row {@code reference[off .. off+hidden)}. */
    abstract double tokenWeight(float[] reference, int off, int hidden);

    /** The loss of {@code output} against {@code reference}, both {@code tokens × hidden} row-major. */
    double error(float[] reference, float[] output, int tokens, int hidden) {
        double loss = 0;
        for (int t = 0; t < tokens; t++) {
            int off = t * hidden;
            double e = 0;
            for (int i = off; i < off + hidden; i++) {
                double d = (double) output[i] - reference[i];
                e += d * d;
            }
            loss += e * tokenWeight(reference, off, hidden);
        }
        return loss;
    }

    /** The {@code --awq-loss} spelling: the constant's name in lower case with '-' for '_'. */
    public String optionName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
