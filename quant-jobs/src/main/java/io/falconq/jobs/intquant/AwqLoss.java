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
 * {@link #NORMED_OUTPUT} +0.0519 (0.60×, 27–34 s). Tried and not kept: the normed error after 1 or 3 further
 * float layers (0.81×, 0.70×: worse and 1.5–2× the cost), channels weighted by the next norm's gain² (0.60×, the
 * same scales), 8,192 search tokens instead of 2,048 (0.58×, 75 s), s ≡ 1 as a 21st candidate (never chosen).
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
