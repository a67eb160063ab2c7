package io.falconq.cli.report;

import java.util.List;
import java.util.Objects;

/**
 * How every perplexity, KL divergence and top-1 number in a report was measured. The baseline and all variants of
 * all models are scored on exactly these tokens, which is what makes Δppl and KLD meaningful.
 *
 * @param protocol       {@code "falconq"} or {@code "llama.cpp"} (SPEC §4)
 * @param dataset        the evaluation text as given (path or bundled-set name)
 * @param datasetSha256  SHA-256 of the text's bytes, lower-case hex
 * @param contextLength  tokens per window
 * @param chunks         windows evaluated (a limit given with {@code --chunks}, or all of them)
 * @param scoredTokens   tokens whose negative log-likelihood enters ppl (and positions entering KLD/top-1)
 * @param texts          per-language texts, each tokenized and windowed on its own (empty for one unlabelled text);
 *                       {@code chunks} and {@code scoredTokens} above are their sums
 */
public record EvaluationSetup(String protocol, String dataset, String datasetSha256, int contextLength, int chunks,
                              long scoredTokens, List<EvalText> texts) {
    public EvaluationSetup {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(datasetSha256, "datasetSha256");
        texts = List.copyOf(texts);
        if (contextLength <= 0 || chunks <= 0 || scoredTokens <= 0) {
            throw new IllegalArgumentException("contextLength, chunks and scoredTokens must be positive: "
                    + contextLength + ", " + chunks + ", " + scoredTokens);
        }
    }

    /** One unlabelled text. */
    public EvaluationSetup(String protocol, String dataset, String datasetSha256, int contextLength, int chunks,
                           long scoredTokens) {
        this(protocol, dataset, datasetSha256, contextLength, chunks, scoredTokens, List.of());
    }

    /**
     * @param language      the label rows are reported under
     * @param dataset       the text as given ({@code builtin:de-eval}, a path)
     * @param datasetSha256 SHA-256 of its bytes
     * @param chunks        its windows
     * @param scoredTokens  its scored positions
     */
    public record EvalText(String language, String dataset, String datasetSha256, int chunks, long scoredTokens) {
        public EvalText {
            Objects.requireNonNull(language, "language");
            Objects.requireNonNull(dataset, "dataset");
            Objects.requireNonNull(datasetSha256, "datasetSha256");
        }
    }
}
