package io.falconq.core.convert;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.io.InvalidInputException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.core.model.SyntheticCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class GgufConversionTest {
    @TempDir
    Path tmp;

    @Test
    void hfToF32IsByteIdenticalToLlamaCppConverterOutput() throws Exception {
        assertConvertsToLlamaCppFile(QuantRecipe.F32, "tiny-F32.gguf");
    }

    @Test
    void hfToQ4KMIsByteIdenticalToLlamaQuantizeOutput() throws Exception {
        assertConvertsToLlamaCppFile(QuantRecipe.Q4_K_M, "tiny-Q4_K_M.gguf");
    }

    /** The tiny model converted with {@code recipe} is byte for byte llama.cpp's {@code llamacppFile}. */
    private void assertConvertsToLlamaCppFile(QuantRecipe recipe, String llamacppFile) throws Exception {
        Path out = tmp.resolve(llamacppFile);
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel())) {
            ConversionPlan plan = ConversionPlanner.planFromHf(ckpt, ConversionOptions.of(recipe));
            GgufConversion.run(plan, ckpt, out, false, 2, ProgressListener.NONE);
        }
        assertSameFile(TestData.llamacpp(llamacppFile), out);
    }

    /** output.weight (Q6_K in llama.cpp's legacy mixes) is converted last; nothing else moves (GgufConversion#writeOrder). */
    @Test
    void outputTensorOfAnotherTypeIsConvertedLast() throws Exception {
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel())) {
            var q4 = ConversionPlanner.planFromHf(ckpt, ConversionOptions.of(QuantRecipe.Q4_0)).tensors();
            var order = GgufConversion.writeOrder(q4);
            assertEquals("output.weight", order.getLast().targetName());
            assertEquals(io.falconq.formats.gguf.GgmlType.Q6_K, order.getLast().type());
            var others = new java.util.ArrayList<>(q4);
            others.removeIf(t -> t.targetName().equals("output.weight"));
            assertEquals(others, order.subList(0, order.size() - 1), "the other tensors keep the file order");

            var f16 = ConversionPlanner.planFromHf(ckpt, ConversionOptions.of(QuantRecipe.F16)).tensors();
            assertSame(f16, GgufConversion.writeOrder(f16), "no quantized type: file order");
        }
    }

    /** A NaN in a source weight fails the conversion with the tensor named, and no output or temp file remains. */
    @Test
    void nonFiniteWeightIsRejectedAndNothingIsWritten() throws Exception {
        Path poisoned = tmp.resolve("poisoned-F32.gguf");
        try (GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"));
             GgufWriter w = GgufWriter.begin(poisoned, f32.metadata(),
                     f32.tensorInfos().stream().map(GgufWriter.PlannedTensor::of).toList(), false)) {
            for (var t : f32.tensorInfos()) {
                byte[] bytes = f32.rawBytes(t.name()).toArray(ValueLayout.JAVA_BYTE);
                if (t.name().equals("blk.1.attn_q.weight")) {
                    MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (256 * 7 + 5), Float.NaN);
                }
                w.write(t.name(), MemorySegment.ofArray(bytes));
            }
            w.finish();
        }
        Path outDir = Files.createDirectory(tmp.resolve("out"));
        Path out = outDir.resolve("q.gguf");
        try (GgufFile in = GgufReader.open(poisoned)) {
            ConversionPlan plan = ConversionPlanner.planFromGguf(in, ConversionOptions.of(QuantRecipe.Q4_K_M));
            var e = assertThrows(InvalidInputException.class,
                    () -> GgufConversion.run(plan, in, out, false, 2, ProgressListener.NONE));
            assertTrue(e.getMessage().contains("blk.1.attn_q.weight") && e.getMessage().contains("row 7")
                    && e.getMessage().contains("column 5"), e.getMessage());
        }
        try (var s = Files.list(outDir)) {
            assertEquals(0, s.count(), "nothing left in the output directory");
        }
    }

    /**
     * A tied checkpoint (no lm_head.weight) still gets output.weight, from the embeddings times lm_head_multiplier
     * (not embedding_multiplier, which llama.cpp's fallback to token_embd would apply); and a config vocab_size above
     * the tokenizer's size is padded with [PAD<id>] tokens of type UNUSED, as llama.cpp's converter does.
     */
    @Test
    void tiedEmbeddingsAndPaddedVocabulary() throws Exception {
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Files.readAllBytes(TestData.tinyModel().resolve("config.json")));
        json.put("tie_word_embeddings", true);
        json.put("vocab_size", 4104);
        json.put("num_hidden_layers", 1);
        Path config = tmp.resolve("config-tied.json");
        Files.writeString(config, json.toString());
        Path model = tmp.resolve("tied");
        SyntheticCheckpoint.write(config, model, 7, SafetensorsDtype.BF16, Long.MAX_VALUE, TestData.tinyModel(), false, 1,
                ProgressListener.NONE);
        Path out = tmp.resolve("tied-F32.gguf");
        try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
            assertFalse(ckpt.contains("lm_head.weight"));
            ConversionPlan plan = ConversionPlanner.planFromHf(ckpt, ConversionOptions.of(QuantRecipe.F32));
            assertTrue(plan.notes().stream().anyMatch(n -> n.contains("tie_word_embeddings")), plan.notes().toString());
            GgufConversion.run(plan, ckpt, out, false, 1, ProgressListener.NONE);
            var embed = ckpt.view("model.embed_tokens.weight");
            try (GgufFile f = GgufReader.open(out)) {
                var output = f.rawBytes("output.weight");
                float lmHead = (float) json.get("lm_head_multiplier").asDouble();
                for (long i = 0; i < embed.elementCount(); i += 997) {
                    float w = Float.intBitsToFloat((embed.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i) & 0xFFFF) << 16);
                    assertEquals(w * lmHead, output.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i), "element " + i);
                }
                var tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
                int[] types = f.metadata().getI32Array("tokenizer.ggml.token_type");
                assertEquals(4104, tokens.size());
                assertEquals("[PAD4096]", tokens.get(4096));
                assertEquals("[PAD4103]", tokens.get(4103));
                assertEquals(GgufTokenizerMetadata.TOKEN_UNUSED, types[4100]);
                assertEquals(GgufTokenizerMetadata.TOKEN_NORMAL, types[4095]);
                assertEquals(4104, f.info("token_embd.weight").ne()[1]);
            }
        }
    }

    static void assertSameFile(Path expected, Path actual) throws Exception {
        byte[] e = Files.readAllBytes(expected);
        byte[] a = Files.readAllBytes(actual);
        if (!Arrays.equals(e, a)) {
            int i = Arrays.mismatch(e, a);
            StringBuilder sb = new StringBuilder();
            try (GgufFile ge = GgufReader.open(expected); GgufFile ga = GgufReader.open(actual)) {
                if (!ge.metadata().keys().equals(ga.metadata().keys())) {
                    sb.append("keys differ: ").append(ge.metadata().keys()).append(" vs ").append(ga.metadata().keys()).append('\n');
                }
                for (String k : ge.metadata().keys()) {
                    if (!ge.metadata().find(k).equals(ga.metadata().find(k))) {
                        sb.append("value of ").append(k).append(": ").append(ge.metadata().find(k)).append(" vs ")
                                .append(ga.metadata().find(k)).append('\n');
                    }
                }
                for (var t : ge.tensorInfos()) {
                    if (!ga.contains(t.name())) {
                        sb.append("missing ").append(t.name()).append('\n');
                        continue;
                    }
                    var u = ga.info(t.name());
                    if (!t.equals(u)) {
                        sb.append("info ").append(t).append(" vs ").append(u).append('\n');
                    } else if (ge.rawBytes(t.name()).mismatch(ga.rawBytes(t.name())) >= 0) {
                        sb.append("data of ").append(t.name()).append(" differs at byte ")
                                .append(ge.rawBytes(t.name()).mismatch(ga.rawBytes(t.name()))).append('\n');
                    }
                }
            }
            fail(actual.getFileName() + " differs from " + expected + " at byte " + i + " (sizes " + e.length + ", "
                    + a.length + ")\n" + sb);
        }
    }
}
