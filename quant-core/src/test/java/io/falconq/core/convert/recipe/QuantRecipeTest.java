package io.falconq.core.convert.recipe;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The recipes' type choices against the types llama-quantize chose for the tiny model, file by file (the approach of
 * llama.cpp's test-quant-type-selection.cpp), including the ssm_out fallbacks and the imatrix-dependent rules.
 */
class QuantRecipeTest {
    private static Path llamacpp(String file) {
        return SharedGroundTruth.path("llamacpp/" + file);
    }

    static Stream<String> llamaCppFiles() throws Exception {
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(llamacpp("tiny-F32.gguf").getParent())) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("tiny-") && n.endsWith(".gguf")
                    && !n.equals("tiny-F32.gguf")).sorted().forEach(names::add);
        }
        assertEquals(21, names.size(), "expected the 21 quantized files listed in llamacpp/README.md, found " + names);
        return names.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("llamaCppFiles")
    void chosenTypesEqualLlamaQuantizeChoices(String file) {
        String type = file.substring("tiny-".length(), file.length() - ".gguf".length()).replace("-imatrix", "");
        ImatrixFile imatrix = file.contains("-imatrix") ? ImatrixReader.read(llamacpp("imatrix-calib.gguf")) : null;
        Map<String, GgmlType> expected = new LinkedHashMap<>();
        try (GgufFile ref = GgufReader.open(llamacpp(file))) {
            for (GgufTensorInfo t : ref.tensorInfos()) {
                expected.put(t.name(), t.type());
            }
        }
        ConversionPlan plan;
        try (GgufFile f32 = GgufReader.open(llamacpp("tiny-F32.gguf"))) {
            plan = ConversionPlanner.planFromGguf(f32, new ConversionOptions(QuantRecipe.named(type), imatrix, null, null));
        }
        Map<String, GgmlType> actual = new LinkedHashMap<>();
        for (PlannedTensor t : plan.tensors()) {
            actual.put(t.targetName(), t.type());
        }
        // same names, same order (loader order), same types
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()), "tensor order");
        assertEquals(expected, actual);
    }

    /** The fallbacks llamacpp/README.md describes: ssm_out rows of 384 values under 256-block recipes. */
    @Test
    void ssmOutFallsBackAsLlamaQuantizeLogs() {
        try (GgufFile f32 = GgufReader.open(llamacpp("tiny-F32.gguf"))) {
            ConversionPlan plan = ConversionPlanner.planFromGguf(f32, ConversionOptions.of(QuantRecipe.Q4_K_M));
            assertEquals(4, plan.fallbackCount(), "one ssm_out per layer");
            for (PlannedTensor t : plan.tensors()) {
                boolean fallback = t.fallback() != null && t.fallback().isFallback();
                assertEquals(t.targetName().endsWith("ssm_out.weight"), fallback, t.targetName());
                if (fallback) {
                    assertEquals(GgmlType.Q4_K, t.fallback().requested());
                    assertEquals(GgmlType.Q5_0, t.type());
                }
            }
        }
    }

    /** GGUF-NOTES.md §6.2's table of the layers that get use_more_bits, for the real Falcon-H1 depths. */
    @Test
    void useMoreBitsMatchesTheTableForRealDepths() {
        Map<Integer, String> table = Map.of(
                24, "0,1,2,5,8,11,14,17,20,21,22,23",
                32, "0,1,2,3,6,9,12,15,18,21,24,27,28,29,30,31",
                36, "0,1,2,3,6,9,12,15,18,21,24,27,30,31,32,33,34,35",
                44, "0,1,2,3,4,7,10,13,16,19,22,25,28,31,34,37,38,39,40,41,42,43");
        for (var e : table.entrySet()) {
            List<String> got = new ArrayList<>();
            for (int i = 0; i < e.getKey(); i++) {
                if (LayerPredicate.useMoreBits(i, e.getKey())) {
                    got.add(Integer.toString(i));
                }
            }
            assertEquals(e.getValue(), String.join(",", got), "n = " + e.getKey());
        }
    }

    @Test
    void fallbackChainFollowsTensorTypeFallback() {
        assertEquals(GgmlType.Q4_K, FallbackChain.resolve(GgmlType.Q4_K, 512, "t").type());
        assertFalse(FallbackChain.resolve(GgmlType.Q4_K, 512, "t").isFallback());
        assertEquals(GgmlType.Q5_0, FallbackChain.resolve(GgmlType.Q4_K, 384, "t").type());
        assertEquals(GgmlType.Q5_1, FallbackChain.resolve(GgmlType.Q5_K, 384, "t").type());
        assertEquals(GgmlType.Q8_0, FallbackChain.resolve(GgmlType.Q6_K, 384, "t").type());
        assertEquals(GgmlType.Q4_0, FallbackChain.resolve(GgmlType.Q2_K, 384, "t").type());
        assertEquals(GgmlType.Q4_0, FallbackChain.resolve(GgmlType.Q3_K, 384, "t").type());
        assertEquals(GgmlType.IQ4_NL, FallbackChain.resolve(GgmlType.IQ4_XS, 384, "t").type());
        // not a multiple of 32 either: F16
        assertEquals(GgmlType.F16, FallbackChain.resolve(GgmlType.Q4_K, 100, "t").type());
        // legacy 32-blocks have no fallback in llama.cpp
        assertThrows(IllegalArgumentException.class, () -> FallbackChain.resolve(GgmlType.Q4_0, 100, "t"));
    }

    @Test
    void aliasesAndUnknownNames() {
        assertSame(QuantRecipe.Q4_K_M, QuantRecipe.named("q4_k"));
        assertSame(QuantRecipe.Q3_K_M, QuantRecipe.named("Q3_K"));
        var e = assertThrows(io.falconq.formats.io.InvalidInputException.class, () -> QuantRecipe.named("Q7_K"));
        assertTrue(e.getMessage().contains("Q4_K_M"), e.getMessage());
    }
}
