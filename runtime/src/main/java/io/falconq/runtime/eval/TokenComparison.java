package io.falconq.runtime.eval;

import java.nio.ByteBuffer;

/**
 * One scored position compared with a baseline record, exactly as llama-perplexity's KL mode computes it
 * ({@code log_softmax(n_vocab, logits, base_log_prob, tok, kld)}, GGUF-NOTES.md §7.3).
 *
 * @param nll      this model's NLL of the target, float arithmetic {@code M + LSE − ℓ_tok}
 * @param nllBase  the baseline's NLL from its record, {@code −(scale·code_tok + min_log_prob)}
 * @param kld      {@code Σ_i p_base,i · (log p_base,i − log p_i)} over i with {@code log p_base,i > −16}
 * @param sameTop  first argmax of the logits equals first argmax of the decoded baseline log-probs
 * @param pDiff    {@code exp(−nll) − exp(−nll_base)}
 */
public record TokenComparison(float nll, float nllBase, double kld, boolean sameTop, float pDiff) {

    public static TokenComparison compute(float[] logits, int off, int n, int token, ByteBuffer base) {
        float max = logits[off];
        int imax = 0;
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > max) {
                max = logits[off + i];
                imax = i;
            }
        }
        double sumExp = LogSoftmax.sumExp(logits, off, n, max);
        float logSumExp = (float) Math.log(sumExp);
        float scale = LogProbRecord.scale(base);
        float minLogProb = LogProbRecord.minLogProb(base);
        float nll = max + logSumExp - logits[off + token];
        float nllBase = -(scale * (base.getShort(8 + 2 * token) & 0xFFFF) + minLogProb);
        float shift = max + logSumExp;
        double sum = 0;
        int imaxBase = -1;
        float maxBase = 0;
        for (int i = 0; i < n; i++) {
            float lpBase = scale * (base.getShort(8 + 2 * i) & 0xFFFF) + minLogProb;
            if (i == 0 || lpBase > maxBase) {
                maxBase = lpBase;
                imaxBase = i;
            }
            if (lpBase > LogSoftmax.KLD_LOG_PROB_FLOOR) {
                float pBase = (float) Math.exp(lpBase);
                sum += pBase * (lpBase - logits[off + i] + shift);
            }
        }
        float pDiff = (float) Math.exp(-nll) - (float) Math.exp(-nllBase);
        return new TokenComparison(nll, nllBase, sum, imax == imaxBase, pDiff);
    }
}
