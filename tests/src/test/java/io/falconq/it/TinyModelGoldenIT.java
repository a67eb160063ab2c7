package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.PerplexityEvaluator;
import io.falconq.runtime.text.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime on the BF16 tiny model (single safetensors file) and on llama.cpp's F32/F16 GGUFs of it, against the
 * PyTorch reference's float32 golden outputs.
 *
 * <p><b>Tolerances.</b> Both sides compute in float32 from the same BF16 weights (exactly representable in float32),
 * so they differ only in summation order (our FMA tiles vs PyTorch's BLAS), in rsqrt/exp implementations (≤ 1–2
 * ulp) and in where multipliers round. Over 4 layers that measures ≈ 4e-7 of the logit range for the logits and
 * ≤ 2e-6 of max|value| for any intermediate; we allow {@value #LOGIT_REL_TOL} (250× headroom, still 10× tighter than
 * the 1e-3 acceptance aim) for logits and {@value #HIDDEN_REL_TOL} for hidden states. A wrong multiplier, norm order,
 * RoPE pairing or conv tap moves these by 1e-2 or more. The F32 GGUF has the µP multipliers folded into its weights
 * in float32 (one extra rounding per weight): same tolerance. The F16 GGUF rounds every weight to fp16 (relative
 * 2⁻¹¹): measured ≈ 3e-5 of the range, allowed {@value #F16_REL_TOL}. Perplexity: 0.1% of the golden value, as the
 * issue asks (measured ≈ 1e-7 relative).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TinyModelGoldenIT {
    static final double LOGIT_REL_TOL = 1e-4;
    static final double HIDDEN_REL_TOL = 1e-4;
    static final double F16_REL_TOL = 1e-3;
    static final double PPL_REL_TOL = 1e-3;

    private FalconH1Model model;
    private FalconH1Forward forward;

    @BeforeAll
    void load() {
        model = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny"));
        forward = new FalconH1Forward(model, 2);
    }

    @AfterAll
    void close() {
        forward.close();
        model.close();
    }

    @Test
    void logitsAndTop5MatchGolden() {
        double worst = GoldenChecks.assertLogitsMatch(forward, LOGIT_REL_TOL, "HF single file");
        System.out.printf("TinyModelGoldenIT: HF single file, worst last-logit error %.3g of the range%n", worst);
    }

    @Test
    void everyHiddenStateMatchesGolden() {
        List<GoldenChecks.TensorError> errors = GoldenChecks.assertHiddenStatesMatch(forward, HIDDEN_REL_TOL, "HF single file");
        assertEquals(GoldenData.hiddenStates().size(), errors.size());
        GoldenChecks.TensorError worst = errors.stream().max(Comparator.comparingDouble(GoldenChecks.TensorError::relative))
                .orElseThrow();
        System.out.printf("TinyModelGoldenIT: %d hidden-state tensors, worst %s %.3g of max|value|%n", errors.size(),
                worst.name(), worst.relative());
    }

    @Test
    void perplexityOnValidMatchesGolden() throws IOException {
        JsonNode golden = GoldenData.perplexity();
        double goldenPpl = golden.get("results").get("bf16_weights_fp32_compute").get("ppl").asDouble();
        String text = Files.readString(CliRun.shared("corpus/valid.txt"));
        int[] ids;
        try (HfTokenizer tok = HfTokenizer.load(CliRun.shared("models/falcon-h1-tiny"))) {
            ids = tok.encodeForModel(text);
        }
        assertEquals(golden.get("n_tokens").asInt(), ids.length, "token count of [BOS] + valid.txt");
        var windows = EvalProtocol.FALCONQ.windows(ids, 512, 1, 0);
        EvalResult r = PerplexityEvaluator.evaluate(forward, EvalProtocol.FALCONQ, 512, windows, ids, null, null, null);
        assertEquals(golden.get("n_windows").asInt(), r.windows());
        assertEquals(golden.get("n_scored").asLong(), r.scoredTokens());
        double rel = Math.abs(r.ppl() - goldenPpl) / goldenPpl;
        System.out.printf("TinyModelGoldenIT: ppl %.6f vs golden %.6f (rel %.2g), %.0f tokens/s with 2 threads%n",
                r.ppl(), goldenPpl, rel, r.tokensPerSecond());
        assertTrue(rel <= PPL_REL_TOL, "ppl " + r.ppl() + " vs golden " + goldenPpl);
    }

    @Test
    void f32GgufMatchesGolden() {
        try (FalconH1Model gguf = FalconH1Model.load(CliRun.shared("llamacpp/tiny-F32.gguf"));
             FalconH1Forward f = new FalconH1Forward(gguf, 2)) {
            assertEquals(FalconH1Model.Format.GGUF, gguf.format());
            double worst = GoldenChecks.assertLogitsMatch(f, LOGIT_REL_TOL, "tiny-F32.gguf");
            System.out.printf("TinyModelGoldenIT: tiny-F32.gguf, worst last-logit error %.3g of the range%n", worst);
        }
    }

    @Test
    void f16GgufMatchesGoldenWithinFp16WeightRounding() {
        try (FalconH1Model gguf = FalconH1Model.load(CliRun.shared("llamacpp/tiny-F16.gguf"));
             FalconH1Forward f = new FalconH1Forward(gguf, 2)) {
            double worst = GoldenChecks.assertLogitsMatch(f, F16_REL_TOL, "tiny-F16.gguf");
            assertTrue(worst > 0, "F16 weights must differ from BF16 somewhere");
            System.out.printf("TinyModelGoldenIT: tiny-F16.gguf, worst last-logit error %.3g of the range%n", worst);
        }
    }
}
