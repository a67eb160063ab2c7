package io.falconq.cli.options;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --ctx N} and {@code --chunks N}: how long the chunks cut from a text are and how many are used, for
 * {@code calibrate}, {@code quantize} and {@code measure} (calibration sequences) and {@code eval} and
 * {@code pipeline} (evaluation windows). A command whose {@code --chunks} defaults to something else than all
 * ({@code measure}) says so with a picocli default provider. Add with {@code @Mixin ChunkOptions chunking;}.
 */
public final class ChunkOptions {
    /** The chunk length and count by default, here and in {@code pipeline}'s {@code --calib-ctx}/{@code --calib-chunks}. */
    public static final String DEFAULT_CTX = "512";
    public static final String DEFAULT_CHUNKS = "-1";

    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = "--ctx", paramLabel = "N", defaultValue = DEFAULT_CTX,
            description = "Tokens per chunk (window) of the text (default ${DEFAULT-VALUE}).")
    private int ctx;

    @Option(names = "--chunks", paramLabel = "N", defaultValue = DEFAULT_CHUNKS,
            description = "Use only the first N chunks (windows), as llama-perplexity --chunks; -1: all "
                    + "(default ${DEFAULT-VALUE}).")
    private int chunks;

    /**
     * Refuses (exit 2, before any work) a {@code --ctx} below {@code minCtx}, the command's own floor ({@code why}
     * there is one, or null), or a {@code --chunks} out of {@link CountLimits}' range.
     */
    public void check(int minCtx, String why) {
        CountLimits.tokens(mixee, why == null ? "--ctx" : "--ctx (" + why + ")", ctx, minCtx);
        CountLimits.countOrAll(mixee, "--chunks", chunks);
    }

    public int ctx() {
        return ctx;
    }

    /** At most this many chunks; -1: all. */
    public int chunks() {
        return chunks;
    }
}
