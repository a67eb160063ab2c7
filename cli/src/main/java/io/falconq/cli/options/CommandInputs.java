package io.falconq.cli.options;

import io.falconq.formats.io.OutputGuard;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.ParseResult;

import java.lang.reflect.AnnotatedElement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The one hook between the command line and output safety: before any command runs, every path it was given —
 * each {@code Path} argument, and each string argument naming an existing file or folder (such as {@code --data},
 * or the FILE of {@code --data LANG=FILE}),
 * except those marked {@link OutputPath} — is declared to {@link OutputGuard}, so no output of the command can be,
 * contain or lie inside one of them, whichever writer makes it.
 */
public final class CommandInputs implements CommandLine.IExecutionStrategy {
    private final CommandLine.IExecutionStrategy next = new CommandLine.RunLast();

    @Override
    public int execute(ParseResult parseResult) {
        try (OutputGuard.Scope scope = OutputGuard.declareInputs(of(parseResult))) {
            return next.execute(parseResult);
        }
    }

    /** The input paths of the command that will run (the innermost subcommand). */
    static List<Path> of(ParseResult parseResult) {
        ParseResult pr = parseResult;
        while (pr.subcommand() != null) {
            pr = pr.subcommand();
        }
        List<Path> inputs = new ArrayList<>();
        for (ArgSpec arg : pr.matchedArgs()) {
            if (arg.userObject() instanceof AnnotatedElement e && e.isAnnotationPresent(OutputPath.class)) {
                continue;
            }
            add(arg.getValue(), inputs);
        }
        return inputs;
    }

    private static void addIfExists(String s, List<Path> inputs) {
        try {
            Path p = Path.of(s);
            if (Files.exists(p)) {
                inputs.add(p);
            }
        } catch (java.nio.file.InvalidPathException ignored) {
            // not a path: a prompt, a type name
        }
    }

    private static void add(Object value, List<Path> inputs) {
        if (value instanceof Path p) {
            inputs.add(p);
        } else if (value instanceof String s && !s.isEmpty() && s.indexOf('\0') < 0) {
            addIfExists(s, inputs);
            int eq = s.indexOf('=');
            if (eq > 0) {
                addIfExists(s.substring(eq + 1), inputs); // LANG=FILE of --data / --calib-data
            }
        } else if (value instanceof Collection<?> c) {
            c.forEach(v -> add(v, inputs));
        } else if (value instanceof Object[] array) {
            for (Object v : array) {
                add(v, inputs);
            }
        }
    }
}
