package io.falconq.cli.options;

import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --split-max-size SIZE | --split-max-tensors N}: write a GGUF split as llama.cpp's {@code gguf-split} does
 * ({@link GgufSplit}). Shared by {@code convert}, {@code requantize} and {@code pipeline}; add with
 * {@code @Mixin GgufSplitOptions split;}.
 */
public final class GgufSplitOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = "--split-max-size", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Write a split GGUF (llama.cpp's gguf-split convention, e.g. 50G for the Hub's 50 GB "
                    + "limit): shards of at most SIZE bytes of tensor data named NAME-00001-of-0000N.gguf; tensors "
                    + "are never cut; all shards appear or none. Open the first shard.")
    private Long maxSize;

    @Option(names = "--split-max-tensors", paramLabel = "N",
            description = "Write a split GGUF with at most N tensors per shard (as llama-gguf-split --split-max-tensors).")
    private Integer maxTensors;

    /** The split rule, or null for one file; both options, or N < 1, are usage errors. */
    public GgufSplit.Rule rule() {
        if (maxSize != null && maxTensors != null) {
            throw new CommandLine.ParameterException(mixee.commandLine(),
                    "--split-max-size and --split-max-tensors are mutually exclusive");
        }
        if (maxTensors != null && maxTensors < 1) {
            throw new CommandLine.ParameterException(mixee.commandLine(), "--split-max-tensors must be >= 1, got "
                    + maxTensors);
        }
        return maxSize != null ? GgufSplit.Rule.maxBytes(maxSize)
                : maxTensors != null ? GgufSplit.Rule.maxTensors(maxTensors) : null;
    }

    /** Parses {@code --split-max-size} with the Hub's units (50G = 50·10^9 bytes, as llama-gguf-split). */
    public static final class SizeConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long bytes;
            try {
                bytes = SafetensorsShardPlan.parseSize(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
            if (bytes < 1) {
                throw new CommandLine.TypeConversionException("size must be positive, got " + value);
            }
            return bytes;
        }
    }
}
