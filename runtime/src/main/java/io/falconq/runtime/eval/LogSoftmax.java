package io.falconq.runtime.eval;

import io.falconq.runtime.kernel.Exp;

/**
 * Log-softmax arithmetic over one row of logits, following llama.cpp's {@code tools/perplexity/perplexity.cpp}
 * ({@code log_softmax} and its overloads) so that numbers compare with llama-perplexity's: maximum, then
 * {@code log Σ exp(ℓ_i − max)}.
 */
public final class LogSoftmax {
    /** log-probabilities below this are dropped from the KL sum, as llama.cpp does (−16 nats). */
    public static final float KLD_LOG_PROB_FLOOR = -16f;

    private LogSoftmax() {
    }

    /** Index of the first maximum. */
    public static int argmax(float[] logits, int off, int n) {
        int best = 0;
        float max = logits[off];
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > max) {
                max = logits[off + i];
                best = i;
            }
        }
        return best;
    }

    public static float max(float[] logits, int off, int n) {
        float max = logits[off];
        for (int i = 1; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        return max;
    }

    /**
     * {@code Σ exp(ℓ_i − max)}. llama.cpp adds float {@code expf} terms in double; here the terms come from
     * {@link Exp} and are added in float lanes in a fixed order (every term is ≤ 1, so the float sum is accurate to
     * a few ulp, far below anything a perplexity or KL figure shows).
     */
    public static double sumExp(float[] logits, int off, int n, float max) {
        return Exp.sumExpShifted(logits, off, n, max);
    }

    /**
     * Negative log-likelihood of {@code token}: {@code −(ℓ_tok − max − log Σ exp(ℓ − max))}, as llama-perplexity's
     * perplexity mode computes it (the log in double).
     */
    public static double nll(float[] logits, int off, int n, int token) {
        float max = max(logits, off, n);
        double sum = sumExp(logits, off, n, max);
        return -(logits[off + token] - max - Math.log(sum));
    }
}
