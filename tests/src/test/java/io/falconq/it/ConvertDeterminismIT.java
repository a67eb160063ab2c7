package io.falconq.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The bytes {@code falconq convert} writes depend only on the checkpoint and the options: not on the thread count
 * (rows are quantized independently and written at their own position) and not on how the checkpoint is sharded.
 */
class ConvertDeterminismIT {
    @ParameterizedTest(name = "{0} imatrix={1}: 1 thread == 2 threads")
    @CsvSource({"Q4_K_M,false", "Q6_K,false", "IQ4_XS,true", "Q2_K,true", "F16,false"})
    void oneThreadWritesTheSameBytesAsTwo(String type, boolean imatrix, @TempDir Path dir) throws Exception {
        Path twoThreads = ConvertedGgufs.get(new ConvertedGgufs.Variant(type, imatrix));
        Path oneThread = dir.resolve("one.gguf");
        List<Object> args = new ArrayList<>(List.of("convert", CliRun.shared("models/falcon-h1-tiny"), "--type", type,
                "-o", oneThread, "-t", 1, "-q"));
        if (imatrix) {
            args.add("--imatrix");
            args.add(CliRun.shared("llamacpp/imatrix-calib.gguf"));
        }
        CliRun run = CliRun.of(args.toArray());
        assertEquals(0, run.exitCode(), run.describe());
        assertIdentical(twoThreads, oneThread);
    }

    @Test
    void shardedCheckpointConvertsToTheSameFile(@TempDir Path dir) throws Exception {
        for (String type : List.of("F32", "Q4_K_M")) {
            Path out = dir.resolve(type + ".gguf");
            // general.name defaults to the folder name; give the single-file model's name
            CliRun run = CliRun.of("convert", CliRun.shared("models/falcon-h1-tiny-sharded"), "--type", type,
                    "--name", "falcon-h1-tiny", "-o", out, "-t", 2, "-q");
            assertEquals(0, run.exitCode(), run.describe());
            assertIdentical(ConvertedGgufs.get(new ConvertedGgufs.Variant(type, false)), out);
        }
    }

    @Test
    void failedConversionLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.gguf");
        // IQ2_XXS is not one of falconq's recipes: a usage error before anything is written
        CliRun bad = CliRun.of("convert", CliRun.shared("models/falcon-h1-tiny"), "--type", "IQ2_XXS", "-o", out);
        assertEquals(2, bad.exitCode(), bad.describe());
        // an existing output is refused unless --force, and left untouched
        Files.writeString(out, "keep me");
        CliRun exists = CliRun.of("convert", CliRun.shared("models/falcon-h1-tiny"), "--type", "Q8_0", "-o", out, "-q");
        assertEquals(4, exists.exitCode(), exists.describe());
        assertEquals("keep me", Files.readString(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList(), "no temporary files left");
        }
    }

    static void assertIdentical(Path expected, Path actual) throws Exception {
        byte[] a = Files.readAllBytes(expected);
        byte[] b = Files.readAllBytes(actual);
        assertEquals(-1, Arrays.mismatch(a, b), actual + " differs from " + expected + " at byte " + Arrays.mismatch(a, b));
    }
}
