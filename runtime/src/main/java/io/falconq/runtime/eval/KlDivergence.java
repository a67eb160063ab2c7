package io.falconq.runtime.eval;

import java.util.Arrays;

/**
 * Accumulates {@link TokenComparison}s into llama-perplexity's KL-divergence statistics (GGUF-NOTES.md §7.3; the
 * {@code kl_divergence} function of {@code tools/perplexity/perplexity.cpp}): means with their uncertainties,
 * percentiles of the per-token KLD by linear interpolation at {@code f·(N−1)}, "same top p", and Δppl with the
 * covariance of the two log-perplexities.
 */
public final class KlDivergence {
    private double sumNll;
    private double sumNll2;
    private double sumNllBase;
    private double sumNllBase2;
    private double sumNllNllBase;
    private double sumKld;
    private double sumKld2;
    private double sumPDiff;
    private double sumPDiff2;
    private double sumPDiff4;
    private float maxPDiff;
    private long sameTop;
    private long count;
    private float[] kldValues = new float[1024];
    private float[] pDiffValues = new float[1024];

    public void add(TokenComparison t) {
        sumNll += t.nll();
        sumNll2 += (double) (t.nll() * t.nll());
        sumNllBase += t.nllBase();
        sumNllBase2 += (double) (t.nllBase() * t.nllBase());
        sumNllNllBase += (double) (t.nll() * t.nllBase());
        sumKld += t.kld();
        sumKld2 += t.kld() * t.kld();
        float pd = t.pDiff();
        sumPDiff += pd;
        double pd2 = (double) (pd * pd);
        sumPDiff2 += pd2;
        sumPDiff4 += pd2 * pd2;
        maxPDiff = Math.max(maxPDiff, Math.abs(pd));
        if (t.sameTop()) {
            sameTop++;
        }
        if (count == kldValues.length) {
            kldValues = Arrays.copyOf(kldValues, kldValues.length * 2);
            pDiffValues = Arrays.copyOf(pDiffValues, pDiffValues.length * 2);
        }
        kldValues[(int) count] = (float) t.kld();
        pDiffValues[(int) count] = pd;
        count++;
    }

    public long count() {
        return count;
    }

    /** A mean and its standard error, llama.cpp's {@code mean_and_uncertainty} (error 0 for N ≤ 10). */
    public record Estimate(double value, double error) {
    }

    static Estimate meanAndUncertainty(double sum, double sum2, long n) {
        if (n < 1) {
            return new Estimate(0, 0);
        }
        double f = sum / n;
        double df = sum2 / n - f * f;
        df = df > 0 && n > 10 ? Math.sqrt(df / (n - 1)) : 0;
        return new Estimate(f, df);
    }

    static double covariance(double sumA, double sumB, double sumAB, long n) {
        if (n < 10) {
            return 0;
        }
        return (sumAB / n - (sumA / n) * (sumB / n)) / (n - 1);
    }

    static float percentile(float[] sorted, float fraction) {
        if (fraction <= 0) {
            return sorted[0];
        }
        if (fraction >= 1) {
            return sorted[sorted.length - 1];
        }
        float p = fraction * (sorted.length - 1);
        int ip = (int) p;
        p -= ip;
        return (1 - p) * sorted[ip] + p * sorted[Math.min(ip + 1, sorted.length - 1)];
    }

    static float median(float[] sorted) {
        int n = sorted.length;
        return n % 2 == 0 ? 0.5f * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2];
    }

    /** The statistics so far. */
    public KlSummary summary() {
        if (count == 0) {
            throw new IllegalStateException("no tokens compared");
        }
        Estimate logPpl = meanAndUncertainty(sumNll, sumNll2, count);
        double ppl = Math.exp(logPpl.value());
        Estimate logPplBase = meanAndUncertainty(sumNllBase, sumNllBase2, count);
        double pplBase = Math.exp(logPplBase.value());
        double cov = covariance(sumNll, sumNllBase, sumNllNllBase, count);
        double lnRatio = logPpl.value() - logPplBase.value();
        double lnRatioErr = Math.sqrt(Math.max(0, logPpl.error() * logPpl.error()
                + logPplBase.error() * logPplBase.error() - 2 * cov));
        double pplErr = ppl * logPpl.error();
        double pplBaseErr = pplBase * logPplBase.error();
        double pplCov = ppl * pplBase * cov;
        double deltaPpl = ppl - pplBase;
        double deltaPplErr = Math.sqrt(Math.max(0, pplErr * pplErr + pplBaseErr * pplBaseErr - 2 * pplCov));
        Estimate kld = meanAndUncertainty(sumKld, sumKld2, count);
        float[] sorted = Arrays.copyOf(kldValues, (int) count);
        Arrays.sort(sorted);
        Estimate pDiffMse = meanAndUncertainty(sumPDiff2, sumPDiff4, count);
        double rms = Math.sqrt(pDiffMse.value());
        double rmsErr = rms > 0 ? 0.5 / rms * pDiffMse.error() : 0;
        double top = (double) sameTop / count;
        double topErr = count > 1 ? Math.sqrt(top * (1 - top) / (count - 1)) : 0;
        return new KlSummary(count,
                new Estimate(ppl, pplErr), new Estimate(pplBase, pplBaseErr),
                new Estimate(lnRatio, lnRatioErr), new Estimate(deltaPpl, deltaPplErr),
                kld, median(sorted), percentile(sorted, 0.99f), sorted[sorted.length - 1],
                new Estimate(top, topErr), new Estimate(rms, rmsErr), maxPDiff);
    }

    /**
     * @param tokens       scored positions
     * @param sameTopP     fraction of positions whose most likely token is the baseline's
     * @param rmsDeltaP    RMS of Δp (probability of the correct token, this − baseline)
     */
    public record KlSummary(long tokens, Estimate ppl, Estimate pplBase, Estimate lnPplRatio, Estimate deltaPpl,
                            Estimate meanKld, float medianKld, float p99Kld, float maxKld, Estimate sameTopP,
                            Estimate rmsDeltaP, float maxAbsDeltaP) {
    }
}
