package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.kernel.ActivationQuantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime on quantized GGUFs written by llama.cpp ({@code ../shared/llamacpp}), end to end through the CLI,
 * against llama.cpp's own measurements of the same files ({@code llamacpp/perplexity.tsv}:
 * {@code llama-perplexity -c 512 -b 512 --chunks 20 -ctk f32 -ctv f32}).
 */
class QuantizedEvalIT {
    /** The acceptance bound: perplexity within 0.5 % of llama.cpp's on the same file. */
    private static final double PPL_REL_TOL = 5e-3;

    private record TsvRow(String file, double ppl, double meanKld, double sameTopPct) {
    }

    private static List<TsvRow> tsv() throws IOException {
        List<TsvRow> rows = new ArrayList<>();
        for (String line : Files.readAllLines(CliRun.shared("llamacpp/perplexity.tsv"))) {
            String[] f = line.split("\t");
            if (f[0].startsWith("tiny-") && !f[0].equals("tiny-F32.gguf")) {
                rows.add(new TsvRow(f[0], Double.parseDouble(f[2]), Double.parseDouble(f[5]), Double.parseDouble(f[6])));
            }
        }
        return rows;
    }

    private static JsonNode eval(String file, String activations) {
        CliRun run = CliRun.of("eval", CliRun.shared("llamacpp/" + file), "--tokenizer",
                CliRun.shared("models/falcon-h1-tiny"), "--data", CliRun.shared("corpus/valid.txt"), "--protocol",
                "llama.cpp", "--ctx", 512, "--chunks", 20, "--activations", activations, "--json", "-t", 2, "-q");
        assertEquals(0, run.exitCode(), file + " " + activations + ": " + run.describe());
        JsonNode j = run.json();
        assertEquals(20 * 255, j.get("scored_tokens").asInt(), file);
        assertEquals(activations, j.get("activations").asText());
        return j;
    }

    /**
     * Every type llama.cpp wrote (21 files: F16, Q8_0 … Q2_K, IQ4_NL/IQ4_XS, with and without imatrix), both
     * activation modes. f32 mode must agree within the 0.5 %; measured: at most 2.1e-4 relative. q8 mode
     * rounds activations as llama.cpp does (Q8_0/Q8_1/Q8_K/F16), which removes the systematic part of the
     * difference: its mean |relative difference| over the 21 files must be below f32 mode's (measured 4.3e-5 vs
     * 9.4e-5). It does not go to zero: the runtimes' float32 results differ by ~1e-7 before each rounding, which
     * flips a few int8 codes per layer, and that noise (≈5e-5 on a 20-chunk ppl) is the floor for both modes.
     */
    @Test
    void perplexityOfEveryLlamaCppFileAgreesWithLlamaPerplexity() throws IOException {
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                "%-26s %12s %12s %10s %12s %10s%n", "file", "llama.cpp", "f32", "rel", "q8", "rel"));
        double sumF32 = 0;
        double sumQ8 = 0;
        List<TsvRow> rows = tsv();
        assertEquals(21, rows.size(), "perplexity.tsv lists 21 quantized/F16 files");
        for (TsvRow row : rows) {
            double f32 = eval(row.file(), "f32").get("ppl").asDouble();
            double q8 = eval(row.file(), "q8").get("ppl").asDouble();
            double relF32 = (f32 - row.ppl()) / row.ppl();
            double relQ8 = (q8 - row.ppl()) / row.ppl();
            table.append(String.format(Locale.ROOT, "%-26s %12.6f %12.6f %+10.2e %12.6f %+10.2e%n", row.file(),
                    row.ppl(), f32, relF32, q8, relQ8));
            assertTrue(Math.abs(relF32) < PPL_REL_TOL, row.file() + " f32: ppl " + f32 + " vs llama.cpp " + row.ppl());
            assertTrue(Math.abs(relQ8) < PPL_REL_TOL, row.file() + " q8: ppl " + q8 + " vs llama.cpp " + row.ppl());
            sumF32 += Math.abs(relF32);
            sumQ8 += Math.abs(relQ8);
        }
        table.append(String.format(Locale.ROOT, "mean |rel|: f32 %.2e, q8 %.2e%n", sumF32 / rows.size(),
                sumQ8 / rows.size()));
        System.out.print("QuantizedEvalIT:\n" + table);
        assertTrue(sumQ8 < sumF32, "q8 activations should track llama.cpp more closely on average:\n" + table);
    }

    /**
     * Issue point 3: the HF BF16 checkpoint's saved log-probabilities as the baseline, a Q4_K_M GGUF as the model
     * under test. llama.cpp measured this file against its F32 GGUF (the same weights: BF16 upcast, µP folded):
     * mean KLD 0.001020, same top-1 97.549 %. Our baseline comes from the HF folder (µP applied at run time; its
     * ppl equals the F32 GGUF's to 2e-6), and with q8 activations our Q4_K_M run rounds as llama.cpp's does, so
     * the two KL measurements agree to the rounding noise above: measured KLD 0.001023 (+0.3 %), top-1 97.667 %
     * (6 of 5100 positions). Allowed: 5 % on the KLD, 0.5 percentage points (25 positions) on top-1.
     */
    @Test
    void hfBaselineAgainstAQuantizedGgufReproducesLlamaCppsKlDivergence(@TempDir Path dir) throws IOException {
        Path base = dir.resolve("hf-bf16.logits");
        CliRun hf = CliRun.of("eval", CliRun.shared("models/falcon-h1-tiny"), "--data", CliRun.shared("corpus/valid.txt"),
                "--protocol", "llama.cpp", "--ctx", 512, "--chunks", 20, "--save-logits", base, "--json", "-t", 2, "-q");
        assertEquals(0, hf.exitCode(), hf.describe());
        CliRun q = CliRun.of("eval", CliRun.shared("llamacpp/tiny-Q4_K_M.gguf"), "--baseline", base, "--activations",
                "q8", "--json", "-t", 2, "-q");
        assertEquals(0, q.exitCode(), q.describe());
        JsonNode kl = q.json().get("kl");
        TsvRow llama = tsv().stream().filter(r -> r.file().equals("tiny-Q4_K_M.gguf")).findFirst().orElseThrow();
        double kld = kl.get("mean_kld").asDouble();
        double top1 = 100 * kl.get("same_top1").asDouble();
        System.out.printf(Locale.ROOT, "QuantizedEvalIT: Q4_K_M vs HF BF16 baseline: KLD %.6f (llama.cpp %.6f), "
                + "same top-1 %.3f %% (llama.cpp %.3f %%), Δppl %.6f%n", kld, llama.meanKld(), top1,
                llama.sameTopPct(), kl.get("delta_ppl").asDouble());
        assertEquals(llama.meanKld(), kld, 0.05 * llama.meanKld(), "mean KL divergence");
        assertEquals(llama.sameTopPct(), top1, 0.5, "same top-1 %");
    }

    /**
     * Issue point 2, generation: a llama.cpp Q4_K_M file runs token by token (row dot products on the blocks) and
     * as a window (panel-decoded matrix products); the two sum in different orders, so with float32 activations
     * they agree to float rounding, within {@link TinyModelGoldenIT#LOGIT_REL_TOL} of each position's logit range,
     * as the dense runtime does. With q8 activations each mode is deterministic across thread counts.
     */
    @Test
    void quantizedGgufGeneratesAndTokenModeAgreesWithWindowMode() {
        CliRun gen = CliRun.of("generate", CliRun.shared("llamacpp/tiny-Q4_K_M.gguf"), "--tokenizer",
                CliRun.shared("models/falcon-h1-tiny"), "-p", "The history of", "-n", 12, "-t", 2, "-q");
        assertEquals(0, gen.exitCode(), gen.describe());
        assertFalse(gen.out().isBlank(), "generated text");
        int[] ids = GoldenData.prompts().get(2).ids();
        try (FalconH1Model model = FalconH1Model.load(CliRun.shared("llamacpp/tiny-Q4_K_M.gguf"))) {
            int v = model.config().vocabSize();
            try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
                GoldenChecks.assertPositionsClose(GoldenChecks.windowLogits(f, ids),
                        GoldenChecks.tokenByTokenLogits(f, ids), v, "token-by-token vs window");
            }
            float[][] q8 = new float[2][];
            for (int threads = 1; threads <= 2; threads++) {
                try (FalconH1Forward f = new FalconH1Forward(model, threads, ActivationQuantizer.Mode.Q8)) {
                    float[] w = GoldenChecks.windowLogits(f, ids);
                    float[] t = GoldenChecks.tokenByTokenLogits(f, Arrays.copyOf(ids, 8));
                    q8[threads - 1] = concat(w, t);
                }
            }
            assertArrayEquals(q8[0], q8[1], "q8 activations: 1 vs 2 threads, window and token mode");
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
