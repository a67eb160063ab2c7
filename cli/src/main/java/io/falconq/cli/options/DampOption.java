package io.falconq.cli.options;

import io.falconq.core.intquant.GptqQuantizer;
import picocli.CommandLine.Option;

/** {@code --damp F}: GPTQ's damp_percent, for {@code quantize} and {@code pipeline}. Add with {@code @Mixin DampOption damp;}. */
public final class DampOption {
    @Option(names = "--damp", defaultValue = "" + GptqQuantizer.DEFAULT_DAMP_PERCENT, paramLabel = "F",
            description = "GPTQ damp_percent (default ${DEFAULT-VALUE}).")
    private double percent;

    /** The damp_percent GPTQ runs with: the value given, or the default for one ≤ 0. */
    public double percent() {
        return percent > 0 ? percent : GptqQuantizer.DEFAULT_DAMP_PERCENT;
    }
}
