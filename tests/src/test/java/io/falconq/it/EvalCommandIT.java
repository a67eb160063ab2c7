package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code falconq eval} end to end, against numbers llama.cpp itself produced ({@code llamacpp/perplexity.tsv}:
 * {@code llama-perplexity -c 512 -b 512 --chunks 20 -ctk f32 -ctv f32} on {@code corpus/valid.txt}).
 */
class EvalCommandIT {
    /**
     * Our float32 forward pass vs llama.cpp's float32 CPU graph on the same F32 GGUF and the same tokens: both are
     * float32 with different summation orders, so their mean NLL agree to ~1e-6 relative; 1e-4 leaves room for
     * llama.cpp's own kernels and still fails on any protocol mistake (a one-token shift in the scored range moves
     * the 20-chunk ppl by ~0.5%).
     */
    private static final double PPL_REL_TOL = 1e-4;

    private static JsonNode tsvRow(String file) throws IOException {
        for (String line : Files.readAllLines(CliRun.shared("llamacpp/perplexity.tsv"))) {
            String[] f = line.split("\t");
            if (f[0].equals(file)) {
                var o = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
                o.put("ppl", Double.parseDouble(f[2]));
                o.put("ppl_err", Double.parseDouble(f[3]));
                if (!f[4].equals("-")) {
                    o.put("delta_ppl", Double.parseDouble(f[4]));
                    o.put("mean_kld", Double.parseDouble(f[5]));
                    o.put("same_top_p_pct", Double.parseDouble(f[6]));
                }
                return o;
            }
        }
        throw new AssertionError(file + " not in perplexity.tsv");
    }

    @Test
    void llamaCppProtocolReproducesLlamaPerplexityAndItsKlDivergence(@TempDir Path dir) throws IOException {
        Path base = dir.resolve("f32.logits");
        CliRun f32 = CliRun.of("eval", CliRun.shared("llamacpp/tiny-F32.gguf"), "--tokenizer",
                CliRun.shared("models/falcon-h1-tiny"), "--data", CliRun.shared("corpus/valid.txt"), "--protocol",
                "llama.cpp", "--ctx", 512, "--chunks", 20, "--save-logits", base, "--json", "-t", 2, "-q");
        assertEquals(0, f32.exitCode(), f32.describe());
        JsonNode r = f32.json();
        JsonNode llama = tsvRow("tiny-F32.gguf");
        assertEquals(20, r.get("windows").asInt());
        assertEquals(20 * 255, r.get("scored_tokens").asInt());
        double rel = Math.abs(r.get("ppl").asDouble() - llama.get("ppl").asDouble()) / llama.get("ppl").asDouble();
        assertTrue(rel < PPL_REL_TOL, "ppl " + r.get("ppl") + " vs llama.cpp " + llama.get("ppl"));
        assertEquals(llama.get("ppl_err").asDouble(), r.get("ppl_stderr").asDouble(), 1e-3, "standard error");
        System.out.printf("EvalCommandIT: llama.cpp protocol, 20 chunks: ppl %.6f ± %.5f, llama.cpp %.4f ± %.5f%n",
                r.get("ppl").asDouble(), r.get("ppl_stderr").asDouble(), llama.get("ppl").asDouble(),
                llama.get("ppl_err").asDouble());

        // the saved file is llama-perplexity's --kl-divergence-base layout (GGUF-NOTES §7.2)
        byte[] head = new byte[20];
        try (var in = Files.newInputStream(base)) {
            assertEquals(20, in.readNBytes(head, 0, 20));
        }
        ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("_logits_", new String(head, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(512, h.getInt(8));
        assertEquals(4096, h.getInt(12));
        assertEquals(20, h.getInt(16));
        assertEquals(20 + 4L * 20 * 512 + 20L * 255 * (2 * 4096 + 8), Files.size(base));

        // F16 weights against the F32 baseline: llama.cpp measured KLD 0.000000 (< 5e-7), same top p 100.000 %
        CliRun f16 = CliRun.of("eval", CliRun.shared("llamacpp/tiny-F16.gguf"), "--baseline", base, "--json", "-t", 2, "-q");
        assertEquals(0, f16.exitCode(), f16.describe());
        JsonNode kl = f16.json().get("kl");
        JsonNode llamaF16 = tsvRow("tiny-F16.gguf");
        assertTrue(kl.get("mean_kld").asDouble() < 1e-5, "mean KLD " + kl.get("mean_kld"));
        assertTrue(kl.get("same_top1").asDouble() >= 0.999, "same top-1 " + kl.get("same_top1"));
        assertTrue(Math.abs(kl.get("delta_ppl").asDouble()) < 0.01, "Δppl " + kl.get("delta_ppl"));
        System.out.printf("EvalCommandIT: F16 vs F32 baseline: KLD %.2e, same top-1 %.3f%%, Δppl %.6f; llama.cpp: "
                        + "KLD %.6f, same top p %.3f%%, Δppl %.6f%n", kl.get("mean_kld").asDouble(),
                100 * kl.get("same_top1").asDouble(), kl.get("delta_ppl").asDouble(), llamaF16.get("mean_kld").asDouble(),
                llamaF16.get("same_top_p_pct").asDouble(), llamaF16.get("delta_ppl").asDouble());
    }

    @Test
    void aModelComparedWithItsOwnSavedLogitsHasNoDivergence(@TempDir Path dir) {
        Path model = CliRun.shared("models/falcon-h1-tiny");
        Path base = dir.resolve("tiny.logits");
        CliRun first = CliRun.of("eval", model, "--data", CliRun.shared("corpus/valid.txt"), "--chunks", 2,
                "--save-logits", base, "--json", "-t", 2, "-q");
        assertEquals(0, first.exitCode(), first.describe());
        CliRun again = CliRun.of("eval", model, "--baseline", base, "--json", "-t", 1, "-q");
        assertEquals(0, again.exitCode(), again.describe());
        JsonNode a = first.json();
        JsonNode b = again.json();
        assertEquals(a.get("scored_tokens").asInt(), b.get("scored_tokens").asInt());
        assertEquals(a.get("ppl").asDouble(), b.get("ppl").asDouble(), 0.0, "same tokens, any thread count: same ppl");
        JsonNode kl = b.get("kl");
        // 16-bit baseline records: an identical model shows KLD ≈ 1e-6, not 0 (GGUF-NOTES §7.2)
        assertTrue(Math.abs(kl.get("mean_kld").asDouble()) < 1e-5, "KLD " + kl.get("mean_kld"));
        assertEquals(1.0, kl.get("same_top1").asDouble());
        assertTrue(Math.abs(kl.get("delta_ppl").asDouble()) < 1e-3 * a.get("ppl").asDouble(), "Δppl " + kl);
    }

    @Test
    void badArgumentsAreUsageErrors() {
        CliRun noData = CliRun.of("eval", CliRun.shared("models/falcon-h1-tiny"));
        assertEquals(2, noData.exitCode(), noData.describe());
        CliRun badProtocol = CliRun.of("eval", CliRun.shared("models/falcon-h1-tiny"), "--data",
                CliRun.shared("corpus/valid.txt"), "--protocol", "wikitext");
        assertEquals(2, badProtocol.exitCode(), badProtocol.describe());
    }
}
