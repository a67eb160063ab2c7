package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code falconq measure} on the tiny model (2 chunks of 128 tokens of calib.txt, llama.cpp's imatrix): its ΔKLD
 * checked against an independent computation, its bytes against thread count and a killed run, its bad inputs.
 */
class MeasureIT {
    private static final Path F32 = CliRun.shared("llamacpp/tiny-F32.gguf");
    private static final Path CALIB = CliRun.shared("corpus/calib.txt");
    private static final Path IMATRIX = CliRun.shared("llamacpp/imatrix-calib.gguf");
    /** llama-quantize's own Q4_K_M with that imatrix: token_embd and attn_q are Q4_K there, output Q6_K. */
    private static final Path LLAMA_Q4_K_M = CliRun.shared("llamacpp/tiny-Q4_K_M-imatrix.gguf");

    private static List<Object> measureArgs(Path out, int threads) {
        return List.of("measure", F32, "--data", CALIB, "--imatrix", IMATRIX, "--types", "Q4_K,Q6_K", "--ctx", 128,
                "--chunks", 2, "-o", out, "-t", threads);
    }

    /**
     * Each measured ΔKLD against the full forward pass ({@code eval}, not the layer-resumed re-run) of a GGUF that is
     * tiny-F32 with that one tensor taken from llama-quantize's file, compared with tiny-F32's own saved log-probs:
     * ΔKLD = KLD(that file) − KLD(tiny-F32 against itself). Independent in the forward (whole model from the tokens),
     * in the weights (llama.cpp's bytes, not falconq's encoder) and in the averaging (eval's KlDivergence). The two
     * are the same float32 arithmetic on the same tokens, so they agree to rounding of the two means' sums; 1e-9
     * nats is 0.1% of the smallest value compared here (attn_q: 8.9e-7) and far above double rounding.
     */
    @Test
    void deltaKldMatchesTheFullForwardOfAFileWithOnlyThatTensorQuantizedByLlamaCpp(@TempDir Path dir) {
        JsonNode tensors = measure(dir.resolve("sensitivity.json")).get("tensors");
        assertEquals(38, tensors.size(), "token_embd, 4 layers × 9 linears, output");

        Path base = dir.resolve("f32.logits");
        CliRun f32 = CliRun.of("eval", F32, "--data", CALIB, "--protocol", "llama.cpp", "--ctx", 128, "--chunks", 2,
                "--save-logits", base, "--json", "-t", 2, "-q");
        assertEquals(0, f32.exitCode(), f32.describe());
        double floor = meanKld(F32, base);
        for (Map.Entry<String, String> c : Map.of("token_embd.weight", "Q4_K", "blk.2.attn_q.weight", "Q4_K",
                "output.weight", "Q6_K").entrySet()) {
            Path one = GgufEdits.withTensorsOf(F32, LLAMA_Q4_K_M, Set.of(c.getKey()),
                    dir.resolve(c.getKey() + ".gguf"));
            double expected = meanKld(one, base) - floor;
            double measured = entry(tensors, c.getKey()).get("delta_kld").get(c.getValue()).asDouble();
            System.out.printf("MeasureIT: %s %s ΔKLD measured %.9e, full forward %.9e%n", c.getKey(), c.getValue(),
                    measured, expected);
            assertTrue(expected > 1e-7, c + ": quantization must cost something, got " + expected);
            assertEquals(expected, measured, 1e-9, c.toString());
        }
    }

    /**
     * The cheaper methods measure some pairs end to end and predict the rest: each value they mark measured is the
     * direct run's, bit for bit (same swap, same re-run); the predicted ones are judged in BENCHMARKS.md (issue 15).
     */
    @Test
    void probeAndLayerGainMeasureWhatDirectMeasures(@TempDir Path dir) {
        JsonNode reference = measure(dir.resolve("direct.json")).get("tensors");
        for (String method : List.of("probe", "layer-gain")) {
            JsonNode table = measure(dir.resolve(method + ".json"), "--method", method);
            assertEquals(method, table.get("source").get("method").asText());
            int measured = 0;
            for (JsonNode t : table.get("tensors")) {
                JsonNode kinds = t.get("kind");
                for (var v : t.get("delta_kld").properties()) {
                    if (kinds.get(v.getKey()).asText().equals("measured")) {
                        measured++;
                        assertEquals(entry(reference, t.get("name").asText()).get("delta_kld").get(v.getKey())
                                .asDouble(), v.getValue().asDouble(), 0.0, method + " " + t.get("name") + " " + v.getKey());
                    }
                }
            }
            // with two candidate types, probe measures one per tensor (its second probe is the first); layer-gain two
            // per layer (18 pairs) and one each for token_embd and output
            assertEquals(method.equals("probe") ? 38 : 2 * 4 + 2, measured, method);
        }
    }

    /** The sensitivity table {@code measure} writes to {@code out} with 2 threads and {@code options}. */
    private static JsonNode measure(Path out, Object... options) {
        List<Object> args = new ArrayList<>(measureArgs(out, 2));
        args.addAll(List.of(options));
        CliRun run = CliRun.of(args.toArray());
        assertEquals(0, run.exitCode(), run.describe());
        return CliRun.readJson(out);
    }

    private static double meanKld(Path model, Path base) {
        CliRun r = CliRun.of("eval", model, "--baseline", base, "--json", "-t", 2, "-q");
        assertEquals(0, r.exitCode(), r.describe());
        return r.json().get("kl").get("mean_kld").asDouble();
    }

    private static JsonNode entry(JsonNode tensors, String name) {
        for (JsonNode t : tensors) {
            if (t.get("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError(name + " not measured");
    }

    @Test
    void sameBytesForOneAndTwoThreadsAndAfterAKilledRunResumes(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("t1.json");
        CliRun r1 = CliRun.of(measureArgs(one, 1).toArray());
        assertEquals(0, r1.exitCode(), r1.describe());

        // a separate JVM, killed (SIGKILL: no shutdown hook) once the first layer's tensors are recorded
        Path killed = tmp.resolve("killed.json");
        CliRun resumed = CliRun.killedAndResumed("blk.0.ssm_out.weight", killed, measureArgs(killed, 2));
        assertTrue(resumed.err().contains("from an interrupted run"), resumed.describe());
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(killed), "1 thread vs killed-and-resumed 2 threads");
    }

    @Test
    void badInputsFailClearlyWithTheirExitCodes(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("s.json");
        expect(2, "missing --data", "measure", F32, "-o", out);
        expect(2, "missing -o/--output", "measure", F32, "--data", CALIB);
        expect(2, "unknown type", "measure", F32, "--data", CALIB, "--types", "Q9_K", "-o", out);
        expect(2, "not a type llama-quantize", "measure", F32, "--data", CALIB, "--types", "Q8_K", "-o", out);
        expect(2, "--ctx must be between", "measure", F32, "--data", CALIB, "--ctx", 1, "-o", out);
        expect(3, "no such model", "measure", dir.resolve("absent"), "--data", CALIB, "-o", out);
        expect(3, "F32, F16 or BF16", "measure", LLAMA_Q4_K_M, "--data", CALIB, "--ctx", 64, "--chunks", 1, "-o", out);
        Path shortText = Files.writeString(dir.resolve("short.txt"), "Too short.");
        expect(3, "fewer than one chunk", "measure", F32, "--data", shortText, "-o", out);
        Files.writeString(out, "keep");
        expect(4, "--force", "measure", F32, "--data", CALIB, "-o", out);
        assertEquals("keep", Files.readString(out));
    }

    private static void expect(int code, String message, Object... args) {
        CliRun r = CliRun.of(args);
        assertEquals(code, r.exitCode(), r.describe());
        assertTrue(r.err().contains(message), () -> "expected \"" + message + "\" in:\n" + r.describe());
    }
}
