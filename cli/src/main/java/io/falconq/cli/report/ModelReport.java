package io.falconq.cli.report;

import java.util.List;
import java.util.Objects;

/**
 * One source model and every variant made from it.
 *
 * @param name           short name used in file names and headings (e.g. {@code falcon-h1-tiny})
 * @param source         where the original weights came from
 * @param parameterCount weights in the checkpoint (all tensors' elements), the denominator of bits/weight
 * @param baseline       the original (unquantized) model's own numbers; Δppl and KLD are relative to it
 * @param variants       in the order of the variant list
 * @param calibration    the calibration tokens of its imatrix and int-quant variants; null when none was calibrated
 */
public record ModelReport(String name, ModelSource source, long parameterCount, BaselineResult baseline,
                          List<VariantReport> variants, CalibrationReport calibration) {
    public ModelReport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(baseline, "baseline");
        if (parameterCount <= 0) {
            throw new IllegalArgumentException(name + ": parameterCount must be positive, found " + parameterCount);
        }
        variants = List.copyOf(variants);
    }

    /** A model without calibration. */
    public ModelReport(String name, ModelSource source, long parameterCount, BaselineResult baseline,
                       List<VariantReport> variants) {
        this(name, source, parameterCount, baseline, variants, null);
    }

    /**
     * @param path         the checkpoint folder (or config file for a planned-only model) as given
     * @param configSha256 SHA-256 of its {@code config.json} bytes
     * @param dtype        storage type of the original weights ({@code BF16}, {@code F32} …)
     */
    public record ModelSource(String path, String configSha256, String dtype) {
        public ModelSource {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(configSha256, "configSha256");
            Objects.requireNonNull(dtype, "dtype");
        }
    }

    /**
     * The unquantized model scored with the same protocol and tokens as the variants.
     *
     * @param fileSizeBytes   bytes of the original weight files
     * @param bitsPerWeight   8 · tensor bytes / parameterCount
     * @param ppl             perplexity
     * @param pplError        one standard error of {@code ppl}
     * @param tokensPerSecond scoring throughput of falconq's runtime on this machine
     * @param languages       per-language perplexity, in the order of {@code evaluation.texts}
     */
    public record BaselineResult(long fileSizeBytes, double bitsPerWeight, double ppl, double pplError,
                                 double tokensPerSecond, List<LanguagePpl> languages) {
        public BaselineResult {
            languages = List.copyOf(languages);
            ReportChecks.requireFinite("baseline", "bitsPerWeight", bitsPerWeight);
            ReportChecks.requireFinite("baseline", "ppl", ppl);
            ReportChecks.requireFinite("baseline", "pplError", pplError);
            ReportChecks.requireFinite("baseline", "tokensPerSecond", tokensPerSecond);
        }

        public BaselineResult(long fileSizeBytes, double bitsPerWeight, double ppl, double pplError,
                              double tokensPerSecond) {
            this(fileSizeBytes, bitsPerWeight, ppl, pplError, tokensPerSecond, List.of());
        }
    }

    /** The original model's perplexity on one language's text. */
    public record LanguagePpl(String language, long scoredTokens, double ppl, double pplError) {
        public LanguagePpl {
            Objects.requireNonNull(language, "language");
            ReportChecks.requireFinite(language, "ppl", ppl);
            ReportChecks.requireFinite(language, "pplError", pplError);
        }
    }
}
