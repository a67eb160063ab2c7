package io.falconq.cli.pipeline;

import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.KlDivergence;

/**
 * What an evaluation step records: the {@link EvalResult} numbers the report shows, as plain values (the step
 * record is JSON). The KL fields are NaN for the original model, which has no baseline.
 */
public record EvalNumbers(int windows, long scoredTokens, double ppl, double pplError, double deltaPpl,
                          double deltaPplError, double kldMean, double kldMedian, double kldP99, double kldMax,
                          double top1Percent, double tokensPerSecond, double seconds) {

    public static EvalNumbers of(EvalResult r) {
        KlDivergence.KlSummary kl = r.kl();
        if (kl == null) {
            return new EvalNumbers(r.windows(), r.scoredTokens(), r.ppl(), r.pplStdErr(), Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, r.tokensPerSecond(), r.seconds());
        }
        return new EvalNumbers(r.windows(), r.scoredTokens(), r.ppl(), r.pplStdErr(), kl.deltaPpl().value(),
                kl.deltaPpl().error(), kl.meanKld().value(), decimal(kl.medianKld()), decimal(kl.p99Kld()),
                decimal(kl.maxKld()),
                100.0 * kl.sameTopP().value(), r.tokensPerSecond(), r.seconds());
    }

    /**
     * A float statistic as the double with the float's shortest decimal ({@code Float.toString}), so report.json
     * shows the digits {@code falconq eval --json} prints rather than the float's binary expansion.
     */
    static double decimal(float value) {
        return Double.parseDouble(Float.toString(value));
    }
}
