package io.falconq.cli.options;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code -v/--verbose} and {@code -q/--quiet}, mutually exclusive. Verbose prints stack traces on failure
 * (see {@code ErrorHandling}) and every progress step; quiet prints no progress. Neither changes results.
 * Add with {@code @Mixin VerbosityMixin verbosity;}.
 */
public final class VerbosityMixin {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    private boolean verbose;
    private boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "More detail: every progress step, stack traces on errors.")
    void setVerbose(boolean verbose) {
        if (verbose && quiet) {
            throw new ParameterException(mixee.commandLine(), "--verbose and --quiet cannot be combined");
        }
        this.verbose = verbose;
    }

    @Option(names = {"-q", "--quiet"}, description = "No progress output; errors are still printed.")
    void setQuiet(boolean quiet) {
        if (quiet && verbose) {
            throw new ParameterException(mixee.commandLine(), "--verbose and --quiet cannot be combined");
        }
        this.quiet = quiet;
    }

    public boolean verbose() {
        return verbose;
    }

    public boolean quiet() {
        return quiet;
    }
}
