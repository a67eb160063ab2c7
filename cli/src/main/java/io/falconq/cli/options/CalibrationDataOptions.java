package io.falconq.cli.options;

import io.falconq.cli.pipeline.CalibrationTokens;
import io.falconq.cli.pipeline.TextSources;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code --calib-data TEXT} (alias {@code --data}, repeatable) and {@code --seed N}: the calibration texts of
 * {@code calibrate}, {@code quantize} and {@code pipeline}, turned into sequences by the one rule of
 * {@link CalibrationTokens}: {@code calibrate} and {@code quantize} size them with {@link ChunkOptions}
 * ({@code --ctx}/{@code --chunks}); the pipeline, whose {@code --ctx}/{@code --chunks} are the evaluation's, with
 * {@code --calib-ctx}/{@code --calib-chunks}. Add with {@code @Mixin CalibrationDataOptions calibration;}.
 */
public final class CalibrationDataOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = {"--calib-data", "--data"}, paramLabel = "TEXT",
            description = "Calibration text; repeat to mix several: builtin:NAME (a bundled set: builtin:LANG for "
                    + "Falcon-H1's 18 languages; builtin:multi = all of them, equal weights), a UTF-8 file, or "
                    + "LANG=TEXT / LANG:WEIGHT=TEXT. One text is read whole from its start; several are sampled "
                    + "per language by --seed and shared out by weight.")
    private List<String> data = new ArrayList<>();

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Seed of a mix's per-language sampling (default ${DEFAULT-VALUE}).")
    private long seed;

    /** Whether the user gave any calibration text. */
    public boolean given() {
        return !data.isEmpty();
    }

    public long seed() {
        return seed;
    }

    /** The texts given, or {@code fallback} when none was (null: the option is required). */
    public TextSources sources(String fallback) {
        List<String> values = data;
        if (values.isEmpty()) {
            if (fallback == null) {
                throw new ParameterException(mixee.commandLine(), "missing --calib-data/--data TEXT");
            }
            values = List.of(fallback);
        }
        try {
            return TextSources.parse(values, TextSources.Purpose.CALIBRATION);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), "--calib-data: " + e.getMessage());
        }
    }

    /** The calibration sequences of {@code sources}, {@code chunks} (≤ 0: all) of {@code ctx} tokens. */
    public CalibrationTokens tokens(TextSources sources, HfTokenizer tokenizer, int ctx, int chunks) {
        return CalibrationTokens.of(sources, seed, tokenizer, ctx, chunks);
    }
}
