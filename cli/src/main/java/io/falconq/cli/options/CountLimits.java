package io.falconq.cli.options;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The ranges of every count flag ({@code --ctx}, {@code --tokens}, {@code -n}, {@code --repeat}, {@code --chunks}),
 * in one place: a value outside is a usage error (exit 2) that says the range, before any work starts; one whose
 * buffers would not fit in the JVM's heap is refused the same way once the model's sizes are known.
 */
public final class CountLimits {
    /** Longest window or generation: Falcon-H1's longest context (262144 tokens). */
    public static final int MAX_TOKENS = 1 << 18;
    /** Most repetitions, chunks or similar counts. */
    public static final int MAX_COUNT = 1 << 20;

    private CountLimits() {
    }

    /** {@code value} when {@code min ≤ value ≤ MAX_TOKENS}. */
    public static int tokens(CommandSpec spec, String flag, int value, int min) {
        return inRange(spec, flag, value, min, MAX_TOKENS);
    }

    /** {@code value} when it is -1 (all) or {@code 1 ≤ value ≤ MAX_COUNT}. */
    public static int countOrAll(CommandSpec spec, String flag, int value) {
        return value == -1 ? value : inRange(spec, flag, value, 1, MAX_COUNT);
    }

    public static int inRange(CommandSpec spec, String flag, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ParameterException(spec.commandLine(), flag + " must be between " + min + " and " + max
                    + ", found " + value);
        }
        return value;
    }

    /** Refuses {@code tokens} of {@code flag} when {@code tokens × bytesPerToken} exceeds half of the maximum heap. */
    public static void fitsInMemory(CommandSpec spec, String flag, int tokens, long bytesPerToken) {
        long budget = Runtime.getRuntime().maxMemory() / 2;
        double need = (double) tokens * bytesPerToken;
        if (need > budget) {
            throw new ParameterException(spec.commandLine(), String.format(java.util.Locale.ROOT,
                    "%s %d needs about %.1f GiB for this model, over the %.1f GiB this JVM can spare (at most %d)",
                    flag, tokens, need / (1L << 30), budget / (double) (1L << 30), budget / Math.max(1, bytesPerToken)));
        }
    }
}
