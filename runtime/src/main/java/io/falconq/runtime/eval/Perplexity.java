package io.falconq.runtime.eval;

/**
 * Running perplexity over scored tokens: {@code ppl = exp(mean NLL)} and llama-perplexity's standard error
 * {@code ppl · sqrt((mean(NLL²) − mean(NLL)²) / (N − 1))} (GGUF-NOTES.md §7.1, "Final estimate").
 */
public final class Perplexity {
    private double sum;
    private double sumSquares;
    private long count;

    public void add(double nll) {
        sum += nll;
        sumSquares += nll * nll;
        count++;
    }

    public long count() {
        return count;
    }

    public double meanNll() {
        return count == 0 ? Double.NaN : sum / count;
    }

    public double ppl() {
        return Math.exp(meanNll());
    }

    /** Standard error of ppl; 0 when fewer than 2 tokens or the variance is not positive. */
    public double pplStdErr() {
        if (count < 2) {
            return 0;
        }
        double mean = sum / count;
        double var = sumSquares / count - mean * mean;
        return var > 0 ? ppl() * Math.sqrt(var / (count - 1)) : 0;
    }
}
