package io.falconq.cli.options;

import io.falconq.formats.io.OutputException;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code -o/--output PATH} and {@code --force}, for every command that writes. Add with
 * {@code @Mixin OutputOptions output;}. Writers still go through {@code AtomicOutput}; {@link #checkWritable()}
 * only lets a command refuse an existing output before it spends minutes on work.
 */
public final class OutputOptions {
    @Option(names = {"-o", "--output"}, paramLabel = "PATH", description = "Where to write the result.")
    private Path output;

    @Option(names = "--force", description = "Overwrite the output if it exists (the old file is replaced atomically).")
    private boolean force;

    /** The {@code --output} path, or {@code null} when not given. */
    public Path output() {
        return output;
    }

    /** The {@code --output} path, or {@code fallback} when not given. */
    public Path outputOr(Path fallback) {
        return output != null ? output : fallback;
    }

    public boolean force() {
        return force;
    }

    /**
     * Fails with an {@link OutputException} (exit code 4) when {@code path} exists and {@code --force} was not
     * given, or when its parent directory is missing.
     */
    public Path checkWritable(Path path) {
        Path absolute = path.toAbsolutePath();
        if (!force && Files.exists(absolute)) {
            throw new OutputException(absolute + ": output exists (use --force to overwrite)");
        }
        Path dir = absolute.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new OutputException(absolute + ": output directory " + dir + " does not exist");
        }
        return absolute;
    }
}
