package io.falconq.cli.report;

import java.util.List;
import java.util.Objects;

/**
 * The calibration tokens a model's imatrix and int-quant variants were made from: the same record in
 * {@code report.json}, in a GPTQ folder's {@code quantization_config.meta.calibration} and (as
 * {@code falconq.calibration.*} keys) in the imatrix.
 *
 * @param data          the calibration texts as given ({@code --calib-data} values joined by ',')
 * @param seed          {@code --seed}; used only when {@code sampled}
 * @param sampled       true for a mix of several texts (sequences sampled per language by the seed); false for one
 *                      text read whole from its start, as llama-imatrix reads it
 * @param contextLength tokens per sequence, BOS first
 * @param sequences     sequences used
 * @param tokens        {@code sequences · contextLength}
 * @param tokensSha256  SHA-256 of every token id of every sequence, in order, as int32 little-endian
 * @param languages     each text's share, in the order given
 */
public record CalibrationReport(String data, long seed, boolean sampled, int contextLength, int sequences, long tokens,
                                String tokensSha256, List<LanguageTokens> languages) {
    public CalibrationReport {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(tokensSha256, "tokensSha256");
        languages = List.copyOf(languages);
    }

    /**
     * @param language     the text's label: LANG of {@code LANG=TEXT}, a bundled set's language, or a file's name
     * @param weight       its relative weight in the mix
     * @param sequences    sequences cut from it
     * @param tokens       {@code sequences · contextLength}
     * @param tokensSha256 SHA-256 of its sequences' ids, as {@code tokensSha256}
     * @param textSha256   SHA-256 of the text the sequences were cut from (the sample of its lines, UTF-8)
     * @param exhausted    its whole text gave fewer sequences than its weight asked for
     */
    public record LanguageTokens(String language, double weight, int sequences, long tokens, String tokensSha256,
                                 String textSha256, boolean exhausted) {
        public LanguageTokens {
            Objects.requireNonNull(language, "language");
            Objects.requireNonNull(tokensSha256, "tokensSha256");
            Objects.requireNonNull(textSha256, "textSha256");
        }
    }
}
