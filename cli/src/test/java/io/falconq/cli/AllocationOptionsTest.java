package io.falconq.cli;

import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.model.TensorRole;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --target-size/--target-bpw --sensitivity} through the command line: usage errors, refusals, a dry run. */
class AllocationOptionsTest {
    @TempDir
    Path dir;

    private static String f32() {
        return SharedGroundTruth.path("llamacpp/tiny-F32.gguf").toString();
    }

    /** Only the two large tensors, so the rest keep the mix (made-up values: this checks wiring, not quality). */
    private Path table(long embdElements) {
        Path f = dir.resolve("s.json");
        new SensitivityTable(new SensitivityTable.Source("tiny", "made-up", 0, "", null, "F32", "made-up"), List.of(
                SensitivityTable.Entry.measured("token_embd.weight", TensorRole.TOKEN_EMBD, -1, embdElements,
                        Map.of(GgmlType.Q2_K, 9e-3, GgmlType.Q4_K, 5e-4, GgmlType.Q6_K, 3e-5)),
                SensitivityTable.Entry.measured("output.weight", TensorRole.OUTPUT, -1, 1 << 20,
                        Map.of(GgmlType.Q2_K, 7e-3, GgmlType.Q4_K, 3e-4, GgmlType.Q6_K, 4e-5))))
                .write(f, true);
        return f;
    }

    @Test
    void usageErrorsAreExit2() {
        String out = dir.resolve("o.gguf").toString();
        String s = table(1 << 20).toString();
        for (String[] args : new String[][] {
                {"requantize", f32(), "--target-size", "3M", "-o", out},
                {"requantize", f32(), "--type", "Q4_K_M", "--sensitivity", s, "-o", out},
                {"requantize", f32(), "--target-size", "3M", "--target-bpw", "4", "--sensitivity", s, "-o", out},
                {"requantize", f32(), "--target-size", "3 apples", "--sensitivity", s, "-o", out},
                {"requantize", f32(), "--target-bpw", "0", "--sensitivity", s, "-o", out},
                {"requantize", f32(), "-o", out},
                {"requantize", f32(), "--type", "Q4_K_M", "--target-size", "4000000", "--sensitivity", s,
                        "--split-max-tensors", "20", "-o", out}}) {
            CliHarness r = CliHarness.run(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + "\n" + r.err());
        }
        assertFalse(Files.exists(Path.of(out)));
    }

    @Test
    void aTableOfAnotherModelOrATooSmallBudgetIsRefusedAndNothingWritten() {
        Path out = dir.resolve("o.gguf");
        CliHarness other = CliHarness.run("requantize", f32(), "--target-size", "3600000", "--sensitivity",
                table(12345).toString(), "-o", out.toString());
        assertEquals(3, other.exitCode(), other.err());
        assertTrue(other.err().contains("another model"), other.err());
        CliHarness small = CliHarness.run("requantize", f32(), "--target-size", "2000000", "--sensitivity",
                table(1 << 20).toString(), "-o", out.toString());
        assertEquals(3, small.exitCode(), small.err());
        assertTrue(small.err().contains("too small"), small.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void dryRunPrintsTheAllocationBesideTheStockMixes() {
        CliHarness r = CliHarness.run("requantize", f32(), "--target-bpw", "5", "--sensitivity",
                table(1 << 20).toString(), "--type", "Q4_K_M", "--dry-run");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("allocation bpw:5.0 (file type Q4_K_M)"), r.out());
        assertTrue(r.out().contains("2 tensors chosen, 36 kept from the mix"), r.out());
        assertTrue(r.out().contains("Q2_K ") && r.out().contains("Q8_0 "), "every stock mix listed: " + r.out());
        assertTrue(r.err().contains("36 quantized tensor(s) not in the sensitivity table keep Q4_K_M's types"), r.err());
    }
}
