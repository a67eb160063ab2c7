package io.falconq.cli;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IExitCodeExceptionMapper;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;

/**
 * How a failure reaches the user, in one place: exception → exit code ({@link #exitCode}), and one line
 * {@code error: <message>} on stderr. The stack trace is printed only with {@code --verbose}; internal errors
 * (anything that is not a falconq failure) say so and name the exception class.
 */
public final class ErrorHandling {
    private ErrorHandling() {
    }

    /** Installs the mapper and both handlers on {@code cli} (the root; picocli applies them to subcommands). */
    public static void install(CommandLine cli) {
        cli.setExitCodeExceptionMapper(ErrorHandling::exitCode);
        cli.setExecutionExceptionHandler(new ExecutionErrorPrinter());
        cli.setParameterExceptionHandler(new UsageErrorPrinter());
    }

    /** The one exception → exit code mapping. */
    public static int exitCode(Throwable t) {
        if (t instanceof ParameterException) {
            return ExitCodes.USAGE;
        }
        if (t instanceof InvalidInputException) {
            return ExitCodes.INVALID_INPUT;
        }
        if (t instanceof OutputException) {
            return ExitCodes.OUTPUT;
        }
        return ExitCodes.INTERNAL;
    }

    /** The single line printed for {@code t}, without the {@code error: } prefix. */
    public static String message(Throwable t) {
        String m = t.getMessage();
        if (t instanceof io.falconq.formats.io.FalconqException) {
            return oneLine(m == null ? t.getClass().getSimpleName() : m);
        }
        String what = t.getClass().getName() + (m == null ? "" : ": " + m);
        return "internal error: " + oneLine(what) + " (rerun with --verbose for the stack trace)";
    }

    static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\\R\\s*", " | ");
    }

    /** True if {@code -v/--verbose} was given to the command that ran (or any parent). */
    static boolean verbose(ParseResult parseResult) {
        for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    private static final class ExecutionErrorPrinter implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
            PrintWriter err = cmd.getErr();
            boolean verbose = verbose(parseResult);
            String line = message(ex);
            if (verbose && line.endsWith(" (rerun with --verbose for the stack trace)")) {
                line = line.substring(0, line.length() - " (rerun with --verbose for the stack trace)".length());
            }
            err.println("error: " + line);
            if (verbose) {
                ex.printStackTrace(err);
            }
            err.flush();
            return exitCode(ex);
        }
    }

    private static final class UsageErrorPrinter implements IParameterExceptionHandler {
        @Override
        public int handleParseException(ParameterException ex, String[] args) {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            err.println("error: " + oneLine(String.valueOf(ex.getMessage())));
            UnmatchedArgumentException.printSuggestions(ex, err);
            err.println("Run '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
            err.flush();
            return ExitCodes.USAGE;
        }
    }
}
