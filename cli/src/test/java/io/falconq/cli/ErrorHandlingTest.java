package io.falconq.cli;

import io.falconq.cli.options.VerbosityMixin;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorHandlingTest {

    /** A command that throws what {@code --throw} names. */
    @Command(name = "boom")
    static final class Boom implements Callable<Integer> {
        @Option(names = "--throw")
        String what = "none";

        @Mixin
        VerbosityMixin verbosity;

        @Override
        public Integer call() {
            switch (what) {
                case "invalid" -> throw new InvalidInputException("model/config.json: model_type is \"llama\"");
                case "format" -> throw new FormatException(Path.of("m.safetensors"), 8, "header length 99 > file size 40");
                case "output" -> throw new OutputException("out.gguf: output exists (use --force to overwrite)");
                case "internal" -> throw new IllegalStateException("boom");
                case "multiline" -> throw new InvalidInputException("first line\nsecond line");
                default -> {
                    return ExitCodes.OK;
                }
            }
        }
    }

    @Test
    void mapsEachFailureClassToItsExitCode() {
        assertEquals(ExitCodes.INVALID_INPUT, ErrorHandling.exitCode(new InvalidInputException("x")));
        assertEquals(ExitCodes.INVALID_INPUT, ErrorHandling.exitCode(new FormatException(Path.of("f"), 0, "x")));
        assertEquals(ExitCodes.OUTPUT, ErrorHandling.exitCode(new OutputException("x")));
        assertEquals(ExitCodes.USAGE, ErrorHandling.exitCode(
                new CommandLine.ParameterException(new CommandLine(new Boom()), "x")));
        assertEquals(ExitCodes.INTERNAL, ErrorHandling.exitCode(new IllegalStateException("x")));
        assertEquals(ExitCodes.INTERNAL, ErrorHandling.exitCode(new OutOfMemoryError()));
    }

    @Test
    void invalidInputIsExit3WithOneErrorLine() {
        CliHarness r = CliHarness.runWith(new Boom(), "boom", "--throw", "invalid");
        assertEquals(3, r.exitCode());
        assertEquals("error: model/config.json: model_type is \"llama\"" + System.lineSeparator(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void formatExceptionNamesFileAndOffset() {
        CliHarness r = CliHarness.runWith(new Boom(), "boom", "--throw", "format");
        assertEquals(3, r.exitCode());
        assertEquals("error: m.safetensors: offset 8: header length 99 > file size 40", r.err().strip());
    }

    @Test
    void outputFailureIsExit4() {
        CliHarness r = CliHarness.runWith(new Boom(), "boom", "--throw", "output");
        assertEquals(4, r.exitCode());
        assertEquals("error: out.gguf: output exists (use --force to overwrite)", r.err().strip());
    }

    @Test
    void internalErrorIsExit1NamesTheExceptionAndHidesTheTraceUnlessVerbose() {
        CliHarness quiet = CliHarness.runWith(new Boom(), "boom", "--throw", "internal");
        assertEquals(1, quiet.exitCode());
        assertEquals("error: internal error: java.lang.IllegalStateException: boom (rerun with --verbose for the stack trace)",
                quiet.err().strip());

        CliHarness verbose = CliHarness.runWith(new Boom(), "boom", "--throw", "internal", "--verbose");
        assertEquals(1, verbose.exitCode());
        String[] lines = verbose.err().split("\\R");
        assertEquals("error: internal error: java.lang.IllegalStateException: boom", lines[0]);
        assertTrue(lines.length > 2 && lines[2].contains("at io.falconq.cli.ErrorHandlingTest$Boom.call"),
                "stack trace expected with --verbose:\n" + verbose.err());
    }

    @Test
    void multiLineMessagesAreJoinedOnOneLine() {
        CliHarness r = CliHarness.runWith(new Boom(), "boom", "--throw", "multiline");
        assertEquals(3, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals("error: first line | second line", r.err().strip());
    }

    @Test
    void unknownOptionIsUsageErrorExit2WithHint() {
        CliHarness r = CliHarness.runWith(new Boom(), "boom", "--bogus");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().startsWith("error: Unknown option: '--bogus'"), r.err());
        assertTrue(r.err().contains("Run 'falconq boom --help' for usage."), r.err());
    }

    @Test
    void unknownCommandAndNoCommandAreUsageErrors() {
        CliHarness unknown = CliHarness.run("inspectt");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("inspect"), "suggests the close command:\n" + unknown.err());
        CliHarness none = CliHarness.run();
        assertEquals(2, none.exitCode());
        assertTrue(none.err().startsWith("error: no command given"), none.err());
    }

    @Test
    void successIsExit0() {
        assertEquals(0, CliHarness.runWith(new Boom(), "boom").exitCode());
    }
}
