package io.falconq.it;

import io.falconq.cli.ExitCodes;
import io.falconq.formats.testing.CorruptionCatalog;
import io.falconq.formats.testing.CorruptionCatalog.CheckpointCorruption;
import io.falconq.formats.testing.CorruptionCatalog.GgufCorruption;
import io.falconq.formats.testing.CorruptionCatalog.SafetensorsCorruption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The corruption catalogue of {@code formats} ({@link CorruptionCatalog}: one constant per rule the readers enforce,
 * modelled on llama.cpp's test-gguf.cpp) run through the CLI as a user runs it: {@code falconq inspect} on each corrupt
 * safetensors file, sharded folder and GGUF must exit 3 with exactly one line {@code error: <file>: <problem>} that
 * contains the catalogue's expected fragment, print nothing on stdout, and leave the folder exactly as it was.
 */
class MalformedInputIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(SafetensorsCorruption.class)
    void corruptSafetensorsFile(SafetensorsCorruption c) throws IOException {
        Path file = inputFile("model.safetensors", c.apply(CorruptionCatalog.validSafetensors()));
        Path dir = file.getParent();
        expectInvalidInput(dir, c.expectedMessageFragment(), file.toString(), "inspect", file);
        // the same file as the weights of a model folder
        expectInvalidInput(dir, c.expectedMessageFragment(), file.toString(), "inspect", dir);
    }

    @ParameterizedTest
    @EnumSource(GgufCorruption.class)
    void corruptGgufFile(GgufCorruption c) throws IOException {
        Path file = inputFile("model.gguf", c.apply(CorruptionCatalog.validGguf()));
        expectInvalidInput(file.getParent(), c.expectedMessageFragment(), file.toString(), "inspect", file);
    }

    @ParameterizedTest
    @EnumSource(CheckpointCorruption.class)
    void corruptShardedCheckpoint(CheckpointCorruption c) throws IOException {
        Path dir = c.apply(tmp.resolve("ckpt"));
        expectInvalidInput(dir, c.expectedMessageFragment(), dir.toString(), "inspect", dir);
    }

    /** A writing command on the same inputs: exit 3 before anything reaches the output folder (no temp file either). */
    @ParameterizedTest
    @EnumSource(SafetensorsCorruption.class)
    void convertRefusesCorruptSafetensors(SafetensorsCorruption c) throws IOException {
        Path file = inputFile("model.safetensors", c.apply(CorruptionCatalog.validSafetensors()));
        Path out = Files.createDirectory(tmp.resolve("out"));
        expectInvalidInput(file.getParent(), c.expectedMessageFragment(), file.toString(),
                "convert", "--type", "Q8_0", "-o", out.resolve("model.gguf"), file);
        assertEquals(Map.of(out, -1L), listing(out), "output folder stays empty");
    }

    @ParameterizedTest
    @EnumSource(CheckpointCorruption.class)
    void convertRefusesCorruptShardedCheckpoints(CheckpointCorruption c) throws IOException {
        Path dir = c.apply(tmp.resolve("ckpt"));
        Path out = Files.createDirectory(tmp.resolve("out"));
        expectInvalidInput(dir, c.expectedMessageFragment(), dir.toString(),
                "convert", "--type", "Q4_K_M", "-o", out.resolve("model.gguf"), dir);
        assertEquals(Map.of(out, -1L), listing(out), "output folder stays empty");
    }

    @Test
    void existingOutputIsRefusedWithoutForce() throws IOException {
        Path out = Files.createDirectory(tmp.resolve("out"));
        Path target = out.resolve("tiny.gguf");
        Files.writeString(target, "an earlier result");
        CliRun run = CliRun.of("convert", "--type", "Q8_0", "-o", target, CliRun.shared("models/falcon-h1-tiny"));
        assertEquals(ExitCodes.OUTPUT, run.exitCode(), run.describe());
        assertEquals(List.of("error: " + target.toAbsolutePath() + ": output exists (use --force to overwrite)"),
                run.err().lines().filter(l -> !l.startsWith("note: ")).toList());
        assertEquals("an earlier result", Files.readString(target));
        assertEquals(Map.of(out, -1L, target, (long) "an earlier result".length()), listing(out));
    }

    @Test
    void catalogueIsLargeEnough() {
        // the issue asks for at least 15 cases per format
        assertTrue(SafetensorsCorruption.values().length >= 15);
        assertTrue(GgufCorruption.values().length >= 15);
        assertTrue(CheckpointCorruption.values().length >= 15);
    }

    @Test
    void validCatalogueBasesAreAccepted() throws IOException {
        // guards the cases above: the uncorrupted bases pass, so each failure is caused by its corruption
        Path st = tmp.resolve("base.safetensors");
        Files.write(st, CorruptionCatalog.validSafetensors());
        CliRun run = CliRun.of("inspect", st);
        assertEquals(ExitCodes.OK, run.exitCode(), run.describe());
        Path ckpt = tmp.resolve("ckpt");
        CorruptionCatalog.writeValidShardedCheckpoint(ckpt);
        run = CliRun.of("inspect", ckpt);
        assertEquals(ExitCodes.OK, run.exitCode(), run.describe());
        // the GGUF base is valid but not Falcon-H1: rejected by architecture, after the reader accepted it
        Path gguf = tmp.resolve("base.gguf");
        Files.write(gguf, CorruptionCatalog.validGguf());
        run = CliRun.of("inspect", gguf);
        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run.describe());
        assertTrue(run.err().contains("general.architecture is \"test\""), run.err());
    }

    @Test
    void badFlagsAreUsageErrors() throws IOException {
        Path st = tmp.resolve("base.safetensors");
        Files.write(st, CorruptionCatalog.validSafetensors());
        for (List<Object> args : List.<List<Object>>of(
                List.of("inspect", "--no-such-flag", st),
                List.of("inspect", "--json=maybe", st),
                List.of("inspect", st, st),
                List.of("inspect", "-v", "-q", st),
                List.of("nosuchcommand", st),
                List.of("quantize", st, "--scheme", "w4", "--method", "gptq", "--awq-loss", "block", "-o",
                        tmp.resolve("q-gptq")),
                List.of("quantize", st, "--scheme", "w4", "--method", "awq", "--awq-loss", "fast", "-o",
                        tmp.resolve("q-awq")))) {
            CliRun run = CliRun.of(args.toArray());
            assertEquals(ExitCodes.USAGE, run.exitCode(), args + ": " + run.describe());
            assertTrue(run.err().startsWith("error: "), run.err());
            assertEquals("", run.out());
        }
    }

    /** {@code bytes} as the file {@code name} alone in a new folder. */
    private Path inputFile(String name, byte[] bytes) throws IOException {
        Path file = Files.createDirectory(tmp.resolve("in")).resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static void expectInvalidInput(Path dir, String fragment, String named, Object... args) throws IOException {
        Map<Path, Long> before = listing(dir);
        CliRun run = CliRun.of(args);
        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run.describe());
        List<String> lines = run.err().lines().toList();
        assertEquals(1, lines.size(), "one error line:\n" + run.err());
        assertTrue(lines.getFirst().startsWith("error: "), run.err());
        assertTrue(lines.getFirst().contains(fragment), "expected \"" + fragment + "\" in: " + run.err());
        assertTrue(lines.getFirst().contains(named), "the message names " + named + ": " + run.err());
        assertEquals("", run.out());
        assertEquals(before, listing(dir), "nothing written next to the input");
    }

    /** Every file under {@code dir} (and a sibling "-outside" folder some corruptions create) with its size. */
    private static Map<Path, Long> listing(Path dir) throws IOException {
        Map<Path, Long> files = new TreeMap<>();
        for (Path root : List.of(dir, dir.resolveSibling(dir.getFileName() + "-outside"))) {
            if (!Files.exists(root)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.toList()) {
                    files.put(p, Files.isRegularFile(p) ? Files.size(p) : -1L);
                }
            }
        }
        return files;
    }
}
