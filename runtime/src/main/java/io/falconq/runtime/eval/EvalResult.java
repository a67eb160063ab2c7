package io.falconq.runtime.eval;

/**
 * The outcome of one perplexity evaluation.
 *
 * @param windows          windows (chunks) evaluated
 * @param tokensEvaluated  tokens run through the model (all positions of all windows)
 * @param scoredTokens     positions whose next-token NLL entered the perplexity
 * @param tokensPerSecond  tokensEvaluated / seconds of model time (forward passes and scoring; tokenization excluded)
 * @param kl               comparison with a baseline logits file, or null
 */
public record EvalResult(EvalProtocol protocol, int ctx, int windows, long tokensEvaluated, long scoredTokens,
                         double meanNll, double ppl, double pplStdErr, double seconds, double tokensPerSecond,
                         int threads, KlDivergence.KlSummary kl) {
}
