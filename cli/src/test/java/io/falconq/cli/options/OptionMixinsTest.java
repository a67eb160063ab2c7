package io.falconq.cli.options;

import io.falconq.cli.ExitCodes;
import io.falconq.cli.FalconqCli;
import io.falconq.formats.io.AtomicOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptionMixinsTest {

    /** A writing command built only from the shared mixins, as real commands are. */
    @Command(name = "write")
    static final class Write implements Callable<Integer> {
        @Mixin
        OutputOptions output;
        @Mixin
        ThreadsOption threads;
        @Mixin
        VerbosityMixin verbosity;

        @Override
        public Integer call() {
            Path target = output.checkWritable(output.outputOr(Path.of("default.out")));
            AtomicOutput.writeBytes(target, ("threads=" + threads.threads()).getBytes(StandardCharsets.UTF_8),
                    output.force());
            return ExitCodes.OK;
        }
    }

    private record Result(int code, String err, Write command) {
    }

    private static Result run(String... args) {
        Write write = new Write();
        StringWriter err = new StringWriter();
        CommandLine cli = new FalconqCli().commandLine();
        cli.addSubcommand(write);
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        String[] full = new String[args.length + 1];
        full[0] = "write";
        System.arraycopy(args, 0, full, 1, args.length);
        return new Result(cli.execute(full), err.toString(), write);
    }

    @Test
    void threadsDefaultToAvailableProcessors(@TempDir Path dir) {
        Result r = run("-o", dir.resolve("a").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(Runtime.getRuntime().availableProcessors(), r.command().threads.threads());
    }

    @Test
    void threadsOptionParsesAndRejectsZero(@TempDir Path dir) throws IOException {
        Result three = run("-t", "3", "-o", dir.resolve("a").toString());
        assertEquals(0, three.code(), three.err());
        assertEquals("threads=3", Files.readString(dir.resolve("a")));
        Result zero = run("--threads", "0", "-o", dir.resolve("b").toString());
        assertEquals(ExitCodes.USAGE, zero.code());
        assertTrue(zero.err().startsWith("error: --threads must be between 1 and "), zero.err());
        assertTrue(zero.err().contains("found 0"), zero.err());
        assertFalse(Files.exists(dir.resolve("b")));
    }

    @Test
    void existingOutputNeedsForce(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("model.gguf");
        Files.writeString(target, "old");
        Result refused = run("-o", target.toString());
        assertEquals(ExitCodes.OUTPUT, refused.code());
        assertEquals("error: " + target.toAbsolutePath() + ": output exists (use --force to overwrite)", refused.err().strip());
        assertEquals("old", Files.readString(target));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }

        Result forced = run("-o", target.toString(), "--force", "-t", "2");
        assertEquals(0, forced.code(), forced.err());
        assertEquals("threads=2", Files.readString(target));
    }

    @Test
    void missingOutputDirectoryIsAnOutputError(@TempDir Path dir) {
        Path target = dir.resolve("no/such/dir/x.gguf");
        Result r = run("--output", target.toString());
        assertEquals(ExitCodes.OUTPUT, r.code());
        assertTrue(r.err().contains("output directory"), r.err());
    }

    @Test
    void outputIsNullWhenNotGiven() {
        assertNull(new OutputOptions().output());
        assertEquals(Path.of("x"), new OutputOptions().outputOr(Path.of("x")));
    }

    @Test
    void verboseAndQuietAreExclusive(@TempDir Path dir) {
        Result both = run("-v", "-q", "-o", dir.resolve("a").toString());
        assertEquals(ExitCodes.USAGE, both.code());
        assertTrue(both.err().startsWith("error: --verbose and --quiet cannot be combined"), both.err());

        Result quiet = run("--quiet", "-o", dir.resolve("b").toString());
        assertEquals(0, quiet.code(), quiet.err());
        assertTrue(quiet.command().verbosity.quiet());
        assertFalse(quiet.command().verbosity.verbose());

        Result verbose = run("--verbose", "-o", dir.resolve("c").toString());
        assertEquals(0, verbose.code(), verbose.err());
        assertTrue(verbose.command().verbosity.verbose());
    }

    /** A command reading calibration text through the shared mixin. */
    @Command(name = "calib")
    static final class Calib implements Callable<Integer> {
        @Mixin
        CalibrationDataOptions calibration;
        @Mixin
        OutputOptions output;

        @Override
        public Integer call() {
            calibration.sources(null);
            AtomicOutput.writeBytes(output.output(), new byte[] {1}, true);
            return ExitCodes.OK;
        }
    }

    @Test
    void theFileOfLangEqualsFileIsAnInputNoOutputMayReplace(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("de.txt"), "Ein Satz.\n");
        CommandLine cli = new FalconqCli().commandLine();
        cli.addSubcommand(new Calib());
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("calib", "--calib-data", "de=" + text, "--data", "en=builtin:en", "-o", text.toString());
        assertEquals(ExitCodes.OUTPUT, code, err.toString());
        assertEquals("Ein Satz.\n", Files.readString(text), "the input is untouched");

        StringWriter err2 = new StringWriter();
        cli.setErr(new PrintWriter(err2));
        assertEquals(ExitCodes.USAGE, cli.execute("calib", "--data", "de:0=" + text, "-o",
                dir.resolve("x").toString()), "a weight of 0 is a usage error");
        assertTrue(err2.toString().contains("weight must be finite and > 0"), err2.toString());
    }
}
