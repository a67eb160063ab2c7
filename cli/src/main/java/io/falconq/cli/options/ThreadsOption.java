package io.falconq.cli.options;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code -t/--threads N}; defaults to the number of available processors. Add with {@code @Mixin ThreadsOption threads;}. */
public final class ThreadsOption {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    private static final int PROCESSORS = Runtime.getRuntime().availableProcessors();
    /** More threads than this only adds contention (and one stack each). */
    public static final int MAX = 4 * PROCESSORS;

    private int threads = PROCESSORS;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads (default: available processors, ${DEFAULT-VALUE} here). "
                    + "Results do not depend on this number.")
    void setThreads(int threads) {
        if (threads < 1 || threads > MAX) {
            throw new ParameterException(mixee.commandLine(), "--threads must be between 1 and " + MAX + " (4 × the "
                    + PROCESSORS + " available processors), found " + threads);
        }
        this.threads = threads;
    }

    public int threads() {
        return threads;
    }
}
