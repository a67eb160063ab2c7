package io.falconq.cli.options;

import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;

/**
 * {@code -o/--output PATH} and {@code --force}, for every command that writes. Add with
 * {@code @Mixin OutputOptions output;}. Writers still go through {@code AtomicOutput}/{@code AtomicFolder};
 * {@link #checkWritable} and {@link #checkWritableFolder} only let a command refuse an output before it spends
 * minutes on work, with the same rules.
 */
public final class OutputOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @OutputPath
    @Option(names = {"-o", "--output"}, paramLabel = "PATH", description = "Where to write the result.")
    private Path output;

    @Option(names = "--force", description = "Overwrite the output if it exists and is a regular file, or a folder falconq wrote "
            + "(replaced atomically); never a link, a special file or another folder.")
    private boolean force;

    /** The {@code --output} path, or {@code null} when not given. */
    public Path output() {
        return output;
    }

    /** The {@code --output} path; when not given, a usage error (exit 2) naming {@code paramLabel}: FILE, DIR. */
    public Path required(String paramLabel) {
        if (output == null) {
            throw new ParameterException(mixee.commandLine(), "missing -o/--output " + paramLabel);
        }
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
     * Fails with an {@link OutputException} (exit code 4) when the file output {@code path} cannot be written as
     * {@code AtomicOutput} would write it: an input, an existing file without {@code --force}, a link, folder or special
     * file, or a missing parent folder. Returns the absolute path.
     */
    public Path checkWritable(Path path) {
        return AtomicOutput.checkWritable(path, force);
    }

    /** The same for a folder output, as {@code AtomicFolder} would write it. */
    public Path checkWritableFolder(Path path) {
        return AtomicFolder.checkWritable(path, force);
    }
}
