package io.falconq.cli;

import io.falconq.cli.options.ActivationsOption;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.TokenizerOption;
import io.falconq.cli.options.VerbosityMixin;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * A command that runs text through the forward pass of a model it loads, {@code eval} and {@code generate}: MODEL,
 * {@code --tokenizer} ({@link TokenizerOption}), {@code -t/--threads}, {@code --activations} and
 * {@code -v/--verbose}, {@code -q/--quiet}. Each adds its own options and {@link #call}.
 */
public abstract class ForwardPassCommand implements Callable<Integer> {
    @Spec
    protected CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face model folder or GGUF file.")
    protected Path model;

    @Mixin
    protected TokenizerOption tokenizer;

    @Mixin
    protected ThreadsOption threads;

    @Mixin
    protected ActivationsOption activations;

    @Mixin
    protected VerbosityMixin verbosity;
}
