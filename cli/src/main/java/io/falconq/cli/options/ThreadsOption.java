package io.falconq.cli.options;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code -t/--threads N}; defaults to the number of available processors. Add with {@code @Mixin ThreadsOption threads;}. */
public final class ThreadsOption {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads (default: available processors, ${DEFAULT-VALUE} here). "
                    + "Results do not depend on this number.")
    void setThreads(int threads) {
        if (threads < 1) {
            throw new ParameterException(mixee.commandLine(), "--threads must be at least 1, found " + threads);
        }
        this.threads = threads;
    }

    public int threads() {
        return threads;
    }
}
