package io.falconq.cli.options;

import io.falconq.runtime.kernel.ActivationQuantizer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code --activations f32|q8} for commands that run the forward pass. Add with {@code @Mixin ActivationsOption}. */
public final class ActivationsOption {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    private ActivationQuantizer.Mode mode = ActivationQuantizer.Mode.F32;

    @Option(names = "--activations", paramLabel = "f32|q8",
            description = "Activations entering each linear layer: f32 (default: float32 times the exactly "
                    + "dequantized weights) or q8 (rounded as llama.cpp's CPU backend does for the weight type: "
                    + "Q8_0/Q8_1 per 32, Q8_K per 256, float16/bfloat16 for F16/BF16 weights), which tracks "
                    + "llama-perplexity more closely.")
    void setMode(String value) {
        try {
            mode = ActivationQuantizer.Mode.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), "--activations: " + e.getMessage());
        }
    }

    public ActivationQuantizer.Mode mode() {
        return mode;
    }
}
