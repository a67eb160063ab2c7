package io.falconq.cli.report;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One quantized artifact and how far its predictions moved from the original model's.
 *
 * @param name            variant name as given in the variant list ({@code Q4_K_M}, {@code w4-gptq} …)
 * @param kind            {@code gguf} file or {@code gptq} safetensors folder
 * @param typeMix         number of tensors stored in each type (ggml type names for GGUF; for GPTQ the packed
 *                        linears are counted as {@code gptq-int4}/{@code gptq-int8} and the rest by dtype)
 * @param fileSizeBytes   bytes of the artifact (sum over the folder's files for GPTQ, over the shards of a split GGUF)
 * @param bitsPerWeight   8 · tensor bytes / weights stored (headers and metadata excluded; for GPTQ the weights
 *                        the packed integers stand for)
 * @param ppl             perplexity of the variant
 * @param pplError        one standard error of {@code ppl}
 * @param deltaPpl        {@code ppl − baseline.ppl}
 * @param deltaPplError   one standard error of {@code deltaPpl}, from the covariance of the two models' per-token
 *                        log-likelihoods on the same tokens (llama.cpp's formula), much smaller than either ppl error
 * @param kld             KL divergence of the variant's next-token distribution from the baseline's, per position
 * @param top1Percent     % of scored positions where the variant's most likely token equals the baseline's
 * @param tokensPerSecond scoring throughput of falconq's runtime on this machine
 * @param artifact        where the artifact is and its checksum
 * @param languages       the same figures per language, in the order of {@code evaluation.texts}; the ones above are
 *                        over all their positions (each the token-weighted mean of the rows; ppl: of their log-ppl)
 * @param allocation      for an {@code auto@} variant, how its types were chosen; null otherwise
 */
public record VariantReport(String name, Kind kind, Map<String, Integer> typeMix, long fileSizeBytes,
                            double bitsPerWeight, double ppl, double pplError, double deltaPpl, double deltaPplError, KldStats kld,
                            double top1Percent, double tokensPerSecond, ArtifactRef artifact,
                            List<LanguageResult> languages, AllocationReport allocation) {

    public enum Kind {
        @JsonProperty("gguf") GGUF,
        @JsonProperty("gptq") GPTQ
    }

    public VariantReport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(kld, name + ": kld");
        Objects.requireNonNull(artifact, name + ": artifact");
        // sorted so JSON, Markdown and HTML list types in one stable order
        typeMix = Collections.unmodifiableMap(new TreeMap<>(typeMix));
        languages = List.copyOf(languages);
        ReportChecks.requireFinite(name, "bitsPerWeight", bitsPerWeight);
        ReportChecks.requireFinite(name, "ppl", ppl);
        ReportChecks.requireFinite(name, "pplError", pplError);
        ReportChecks.requireFinite(name, "deltaPpl", deltaPpl);
        ReportChecks.requireFinite(name, "deltaPplError", deltaPplError);
        ReportChecks.requireFinite(name, "top1Percent", top1Percent);
        ReportChecks.requireFinite(name, "tokensPerSecond", tokensPerSecond);
        if (fileSizeBytes <= 0) {
            throw new IllegalArgumentException(name + ": fileSizeBytes must be positive, found " + fileSizeBytes);
        }
    }

    /** A stock variant (no allocation). */
    public VariantReport(String name, Kind kind, Map<String, Integer> typeMix, long fileSizeBytes,
                         double bitsPerWeight, double ppl, double pplError, double deltaPpl, double deltaPplError,
                         KldStats kld, double top1Percent, double tokensPerSecond, ArtifactRef artifact,
                         List<LanguageResult> languages) {
        this(name, kind, typeMix, fileSizeBytes, bitsPerWeight, ppl, pplError, deltaPpl, deltaPplError, kld,
                top1Percent, tokensPerSecond, artifact, languages, null);
    }

    /** A variant evaluated on one unlabelled text. */
    public VariantReport(String name, Kind kind, Map<String, Integer> typeMix, long fileSizeBytes,
                         double bitsPerWeight, double ppl, double pplError, double deltaPpl, double deltaPplError,
                         KldStats kld, double top1Percent, double tokensPerSecond, ArtifactRef artifact) {
        this(name, kind, typeMix, fileSizeBytes, bitsPerWeight, ppl, pplError, deltaPpl, deltaPplError, kld,
                top1Percent, tokensPerSecond, artifact, List.of());
    }

    /** The variant's figures on one language's text (same meanings as the variant's own). */
    public record LanguageResult(String language, long scoredTokens, double ppl, double pplError, double deltaPpl,
                                 double deltaPplError, KldStats kld, double top1Percent) {
        public LanguageResult {
            Objects.requireNonNull(language, "language");
            Objects.requireNonNull(kld, language + ": kld");
            ReportChecks.requireFinite(language, "ppl", ppl);
            ReportChecks.requireFinite(language, "pplError", pplError);
            ReportChecks.requireFinite(language, "deltaPpl", deltaPpl);
            ReportChecks.requireFinite(language, "deltaPplError", deltaPplError);
            ReportChecks.requireFinite(language, "top1Percent", top1Percent);
        }
    }

    /**
     * Statistics over the per-position KL divergences, in nats; {@code meanError} is one standard error of
     * {@code mean} (llama-perplexity's, 0 for 10 positions or fewer), what a difference between two means is judged by.
     */
    public record KldStats(double mean, double meanError, double median, double p99, double max) {
        public KldStats {
            ReportChecks.requireFinite("kld", "mean", mean);
            ReportChecks.requireFinite("kld", "meanError", meanError);
            ReportChecks.requireFinite("kld", "median", median);
            ReportChecks.requireFinite("kld", "p99", p99);
            ReportChecks.requireFinite("kld", "max", max);
        }
    }

    /**
     * @param path   relative to the report's folder, with {@code /} separators; of a split GGUF, its first shard
     * @param sha256 lower-case hex; for a GPTQ folder, of its {@code model.safetensors}
     * @param shards every file of a split GGUF in shard order (the first is {@code path}); empty for one file
     */
    public record ArtifactRef(String path, String sha256, List<Shard> shards) {
        public ArtifactRef {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(sha256, "sha256");
            shards = shards == null ? List.of() : List.copyOf(shards);
        }

        /** One file. */
        public ArtifactRef(String path, String sha256) {
            this(path, sha256, List.of());
        }
    }

    /** One file of a split GGUF: {@code path} as {@link ArtifactRef#path()}, its size and SHA-256. */
    public record Shard(String path, long sizeBytes, String sha256) {
        public Shard {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(sha256, "sha256");
        }
    }
}
