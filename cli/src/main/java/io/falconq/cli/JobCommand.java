package io.falconq.cli;

import io.falconq.cli.options.OutputOptions;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.progress.Progress;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * A command that runs a job on worker threads and writes its result: {@code -o/--output} and {@code --force}
 * ({@link OutputOptions}), {@code -t/--threads} ({@link ThreadsOption}), {@code -v/--verbose} and {@code -q/--quiet}
 * ({@link VerbosityMixin}), the options {@code convert}, {@code requantize}, {@code calibrate}, {@code quantize},
 * {@code measure} and {@code synth} share. Each adds its own options and {@link #call}.
 */
public abstract class JobCommand implements Callable<Integer> {
    @Spec
    protected CommandSpec spec;

    @Mixin
    protected OutputOptions output;

    @Mixin
    protected ThreadsOption threads;

    @Mixin
    protected VerbosityMixin verbosity;

    /** The progress display of the job, labelled {@code label}. */
    protected Progress progress(String label) {
        return Progress.create(spec, verbosity, label);
    }
}
