package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.tensor.TensorView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code quantize --skip}: linears left unquantized by rule (issue 15 item 5, issue 16's vLLM note that Falcon-H1's
 * MLP is built without a quantization config). The skipped weights are the source's bytes, the others GPTQ tensors,
 * and {@code quantization_config.dynamic} holds GPTQModel's negative rules, which select exactly the skipped modules
 * under vLLM's matching ({@code re.match}: anchored at the start only), fused names included.
 */
class UnquantizedLinearsIT {
    private static final Path TINY = CliRun.shared("models/falcon-h1-tiny");

    @Test
    void skippedMlpKeepsTheSourceBytesAndTheRulesSelectExactlyIt(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("w4-skip-mlp");
        CliRun r = CliRun.of("quantize", TINY, "--scheme", "w4", "--method", "gptq", "--chunks", 4, "--skip", "mlp",
                "-o", out);
        assertEquals(0, r.exitCode(), r.describe());
        List<LinearRole> mlp = List.of(LinearRole.FFN_GATE, LinearRole.FFN_UP, LinearRole.FFN_DOWN);
        try (HfCheckpoint src = HfCheckpoint.open(TINY); HfCheckpoint q = HfCheckpoint.open(out)) {
            int layers = src.configJson().path("num_hidden_layers").asInt();
            for (int layer = 0; layer < layers; layer++) {
                for (LinearRole role : LinearRole.perLayer()) {
                    String module = role.hfModulePath(layer);
                    boolean skipped = mlp.contains(role);
                    assertEquals(skipped, q.names().contains(module + ".weight"), module);
                    assertEquals(!skipped, q.names().contains(module + ".qweight"), module);
                    if (skipped) {
                        TensorView a = src.view(module + ".weight");
                        TensorView b = q.view(module + ".weight");
                        assertEquals(a.type(), b.type(), module);
                        assertArrayEquals(a.shape(), b.shape(), module);
                        assertArrayEquals(src.rawBytes(module + ".weight").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                                q.rawBytes(module + ".weight").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), module);
                    }
                }
            }
            JsonNode dynamic = q.configJson().path("quantization_config").path("dynamic");
            List<Pattern> negative = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : dynamic.properties()) {
                assertTrue(e.getKey().startsWith("-:"), e.getKey());
                negative.add(Pattern.compile(e.getKey().substring(2)));
            }
            assertFalse(negative.isEmpty());
            List<String> modules = new ArrayList<>();
            for (int layer = 0; layer < layers; layer++) {
                for (LinearRole role : LinearRole.perLayer()) {
                    modules.add(role.hfModulePath(layer));
                }
                modules.add("model.layers." + layer + ".self_attn.qkv_proj"); // vLLM's fused names
                modules.add("model.layers." + layer + ".feed_forward.gate_up_proj");
            }
            for (String module : modules) {
                boolean expected = module.contains(".feed_forward.");
                boolean matched = negative.stream().anyMatch(p -> p.matcher(module).lookingAt());
                assertEquals(expected, matched, module);
            }
        }
        double skippedPpl = IntQuantIT.perplexity(out, 4);
        assertTrue(Double.isFinite(skippedPpl) && skippedPpl > 1, "the mixed folder loads and runs: " + skippedPpl);
    }

    /**
     * {@code --for-engine}: refused before any work when a quantized linear breaks the engine path's rules (the
     * tiny in_proj's 838 rows: qzeros 105 wide where vLLM allocates 104; a quantized MLP); a real size with
     * {@code --skip mlp} passes vLLM's plain GPTQ path but not Marlin (in_proj 3352 rows, not a multiple of 64).
     */
    @Test
    void forEngineRefusesWhatThatEngineCannotAllocate(@TempDir Path tmp) {
        CliRun tiny = CliRun.of("quantize", TINY, "--scheme", "w4", "--for-engine", "vllm-gptq", "-o", tmp.resolve("t"));
        assertEquals(3, tiny.exitCode(), tiny.describe());
        assertTrue(tiny.err().contains("mamba.in_proj") && tiny.err().contains("feed_forward"), tiny.describe());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("t")));
        Path config = CliRun.shared("configs/falcon-h1-0.5b.json");
        CliRun gptq = CliRun.of("quantize", config, "--dry-run", "--scheme", "w4", "--for-engine", "vllm-gptq",
                "--skip", "mlp");
        assertEquals(0, gptq.exitCode(), gptq.describe());
        CliRun marlin = CliRun.of("quantize", config, "--dry-run", "--scheme", "w4", "--for-engine",
                "vllm-gptq-marlin", "--skip", "mlp");
        assertEquals(3, marlin.exitCode(), marlin.describe());
        assertTrue(marlin.err().contains("mamba.in_proj") && marlin.err().contains("3352 rows"), marlin.describe());
        CliRun bogus = CliRun.of("quantize", config, "--dry-run", "--scheme", "w4", "--for-engine", "tgi");
        assertEquals(2, bogus.exitCode(), bogus.describe());
    }

    @Test
    void badSkipValuesAreUsageErrors(@TempDir Path tmp) {
        CliRun unknown = CliRun.of("quantize", TINY, "--scheme", "w4", "--skip", "mlp,lm_head", "-o", tmp.resolve("a"));
        assertEquals(2, unknown.exitCode(), unknown.describe());
        assertTrue(unknown.err().contains("--skip lm_head"), unknown.describe());
        CliRun all = CliRun.of("quantize", TINY, "--scheme", "w4", "--skip", "attn,ssm,mlp", "-o", tmp.resolve("b"));
        assertEquals(2, all.exitCode(), all.describe());
        assertTrue(all.err().contains("nothing to quantize"), all.describe());
    }
}
