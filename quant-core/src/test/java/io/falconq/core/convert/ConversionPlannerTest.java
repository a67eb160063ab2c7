package io.falconq.core.convert;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.core.model.FalconH1Config;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The config-only plan ({@code inspect}'s size estimates, the pipeline's dry run for a model not on disk) is what
 * {@code convert} plans for a checkpoint of that config: the same tensors in the same order with the same types,
 * dimensions, sizes, fallbacks and imatrix rows, and the same metadata but for the tokenizer keys (there is no
 * tokenizer.json), for every file type llama.cpp's files in ../shared/llamacpp were made with.
 */
class ConversionPlannerTest {
    private static final String TOKENIZER_PREFIX = "tokenizer.";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M",
            "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "Q4_K_M-imatrix",
            "Q3_K_M-imatrix", "Q2_K-imatrix", "IQ4_XS-imatrix"})
    void configPlanIsTheCheckpointPlanWithoutTheTokenizer(String type) {
        ImatrixFile imatrix = type.endsWith("-imatrix") ? ImatrixReader.read(TestData.llamacpp("imatrix-calib.gguf"))
                : null;
        ConversionOptions options = new ConversionOptions(QuantRecipe.named(type.replace("-imatrix", "")), imatrix,
                null, "falcon-h1-tiny");
        ConversionPlan fromCheckpoint;
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel())) {
            fromCheckpoint = ConversionPlanner.planFromHf(ckpt, options);
        }
        ConversionPlan fromConfig = ConversionPlanner.planFromConfig(
                FalconH1Config.read(TestData.tinyModel().resolve("config.json")), "falcon-h1-tiny", options);

        assertEquals(fromCheckpoint.layout(), fromConfig.layout());
        List<PlannedTensor> expected = fromCheckpoint.tensors();
        List<PlannedTensor> actual = fromConfig.tensors();
        assertEquals(expected.size(), actual.size(), "tensor count");
        for (int i = 0; i < expected.size(); i++) {
            PlannedTensor e = expected.get(i);
            PlannedTensor a = actual.get(i);
            String where = type + " tensor " + i + " " + e.targetName();
            assertEquals(e.targetName(), a.targetName(), where);
            assertEquals(e.type(), a.type(), where);
            assertArrayEquals(e.ne(), a.ne(), where);
            assertEquals(e.bytes(), a.bytes(), where);
            assertEquals(e.fallback(), a.fallback(), where);
            assertArrayEquals(e.importance(), a.importance(), where + ": imatrix row");
        }
        Map<String, GgufValue> metadata = withoutTokenizer(fromCheckpoint.metadata());
        assertEquals(List.copyOf(metadata.keySet()), fromConfig.metadata().keys(), type + " metadata keys");
        assertEquals(metadata, fromConfig.metadata().asMap(), type + " metadata");
        assertTrue(fromCheckpoint.metadata().keys().stream().anyMatch(k -> k.startsWith(TOKENIZER_PREFIX)),
                "the checkpoint plan has the tokenizer keys the config plan leaves out");
        assertEquals(fromCheckpoint.notes().stream().filter(n -> !n.startsWith("tie_word_embeddings")).toList(),
                fromConfig.notes(), type + " notes");
    }

    private static Map<String, GgufValue> withoutTokenizer(GgufMetadata m) {
        Map<String, GgufValue> map = new LinkedHashMap<>(m.asMap());
        map.keySet().removeIf(k -> k.startsWith(TOKENIZER_PREFIX));
        return map;
    }
}
