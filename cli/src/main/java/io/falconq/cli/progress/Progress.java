package io.falconq.cli.progress;

import io.falconq.cli.FalconqCli;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.formats.io.ProgressListener;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Map;

/**
 * A rendering of a library {@link ProgressListener} on stderr, closed when the job ends. Progress never goes to
 * stdout (which may carry {@code --json}), never sleeps and never changes results.
 *
 * <pre>{@code
 * try (Progress progress = Progress.create(spec, verbosity, "convert")) {
 *     conversion.run(progress);          // the library sees a ProgressListener
 * }
 * }</pre>
 */
public interface Progress extends ProgressListener, AutoCloseable {
    /** Ends the rendering (completes a bar, prints a pending last line). */
    @Override
    void close();

    /** Renders nothing. */
    static Progress silent() {
        return new Progress() {
            @Override
            public void onStep(long done, long total, String label) {
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * The rendering for a command: nothing with {@code --quiet}; a progress bar when falconq runs from
     * {@code main} on an interactive console outside CI; otherwise plain throttled lines on the command's error
     * writer (every step with {@code --verbose}).
     */
    static Progress create(CommandSpec spec, VerbosityMixin verbosity, String task) {
        if (verbosity != null && verbosity.quiet()) {
            return silent();
        }
        boolean verbose = verbosity != null && verbosity.verbose();
        PrintWriter err = spec.commandLine().getErr();
        boolean terminal = spec.root().userObject() instanceof FalconqCli cli && cli.attachedToConsole()
                && System.console() != null && System.console().isTerminal() && !isCi(System.getenv());
        if (terminal) {
            return new TerminalProgress(task);
        }
        return verbose ? PlainProgress.everyStep(err, task) : PlainProgress.throttled(err, task);
    }

    /** True in a CI job: the {@code CI} variable (set by GitHub Actions, GitLab, Travis...) is present and not "false". */
    static boolean isCi(Map<String, String> env) {
        String ci = env.get("CI");
        return ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false") || "dumb".equals(env.get("TERM"));
    }
}
