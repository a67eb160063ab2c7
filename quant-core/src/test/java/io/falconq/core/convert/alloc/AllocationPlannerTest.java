package io.falconq.core.convert.alloc;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.TestData;
import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllocationPlannerTest {
    private static final List<GgmlType> LADDER = List.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.F16);

    @TempDir
    Path tmp;

    /**
     * A made-up table for the mechanics only (budget, planning, metadata), not a sensitivity: ΔKLD falls by 4× per
     * bit, scaled by the tensor's size, keyed by the concrete type (fallbacks applied) as {@code measure} writes it.
     */
    static SensitivityTable syntheticTable(ConversionPlan plan) {
        List<SensitivityTable.Entry> entries = new ArrayList<>();
        for (PlannedTensor t : plan.tensors()) {
            if (t.fallback() == null) {
                continue;
            }
            Map<GgmlType, Double> d = new EnumMap<>(GgmlType.class);
            for (GgmlType type : LADDER) {
                GgmlType concrete = FallbackChain.resolve(type, t.rowLength(), t.targetName()).type();
                d.putIfAbsent(concrete, t.elementCount() * Math.pow(4, -concrete.bitsPerWeight()) * 1e-3);
            }
            entries.add(SensitivityTable.Entry.measured(t.targetName(), t.role(), t.layer(), t.elementCount(), d));
        }
        return new SensitivityTable(new SensitivityTable.Source("tiny", "synthetic", 0, "", null, "F32", "synthetic"),
                entries);
    }

    private static Path f32() {
        return TestData.shared("llamacpp/tiny-F32.gguf");
    }

    @Test
    void fitsTheFileSizeExactlyAndRecordsItself() throws Exception {
        long budget = Files.size(TestData.shared("llamacpp/tiny-Q3_K_M.gguf"));
        Path out = tmp.resolve("alloc.gguf");
        Allocation a;
        try (GgufFile in = GgufReader.open(f32())) {
            SensitivityTable table = syntheticTable(ConversionPlanner.planFromGguf(in,
                    ConversionOptions.of(QuantRecipe.Q8_0)));
            List<String> notes = new ArrayList<>();
            a = AllocationPlanner.allocate(o -> ConversionPlanner.planFromGguf(in, o),
                    ConversionOptions.of(QuantRecipe.Q3_K_M), table, "ab".repeat(32),
                    AllocationBudget.fileBytes(budget), notes);
            assertTrue(a.fileBytes() <= budget, a.fileBytes() + " > " + budget);
            assertTrue(a.exact());
            assertTrue(a.fixed().isEmpty(), "every quantized tensor is in the table");
            // the stock mix of the same type, planned by the same routine, is llama-quantize's file size
            Allocation.StockMix q3 = a.stock().stream().filter(s -> s.name().equals("Q3_K_M")).findFirst().orElseThrow();
            assertEquals(budget, q3.fileBytes());
            assertTrue(a.betterStockMixes().isEmpty(), "the optimum is never worse than a stock mix the table prices");

            GgufConversion.run(a.plan(), in, out, false, 2, ProgressListener.NONE);
        }
        assertEquals(a.fileBytes(), Files.size(out), "the budget counted the file the writer makes");
        try (GgufFile written = GgufReader.open(out)) {
            AllocationKeys keys = AllocationKeys.read(written.metadata());
            assertEquals("size:" + budget, keys.target());
            assertEquals("ab".repeat(32), keys.sensitivitySha256());
            assertEquals("synthetic", keys.sensitivityData());
            assertEquals((float) a.predictedDeltaKld(), keys.predictedDeltaKld());
            for (GgufTensorInfo t : written.tensorInfos()) {
                GgmlType chosen = a.quantizedTypes().get(t.name());
                assertEquals(chosen == null ? GgmlType.F32 : chosen, t.type(), t.name());
            }
        }
    }

    @Test
    void bitsPerWeightBudgetCountsTensorData() {
        try (GgufFile in = GgufReader.open(f32())) {
            SensitivityTable table = syntheticTable(ConversionPlanner.planFromGguf(in,
                    ConversionOptions.of(QuantRecipe.Q8_0)));
            Allocation a = AllocationPlanner.allocate(o -> ConversionPlanner.planFromGguf(in, o),
                    ConversionOptions.of(QuantRecipe.Q4_K_M), table, "0".repeat(64),
                    AllocationBudget.bitsPerWeight(4.5), new ArrayList<>());
            assertTrue(a.bitsPerWeight() <= 4.5, "bpw " + a.bitsPerWeight());
            assertTrue(a.bitsPerWeight() > 4.4, "the budget is used: bpw " + a.bitsPerWeight());
        }
    }

    @Test
    void refusesABudgetNoAllocationFits() {
        try (GgufFile in = GgufReader.open(f32())) {
            SensitivityTable table = syntheticTable(ConversionPlanner.planFromGguf(in,
                    ConversionOptions.of(QuantRecipe.Q8_0)));
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> AllocationPlanner.allocate(
                    o -> ConversionPlanner.planFromGguf(in, o), ConversionOptions.of(QuantRecipe.Q2_K), table,
                    "0".repeat(64), AllocationBudget.fileBytes(2_000_000), new ArrayList<>()));
            assertTrue(e.getMessage().contains("too small"), e.getMessage());
        }
    }

    /** The guard against a silent loss: a stock mix no larger and predicted better is reported, nothing else. */
    @Test
    void onlyStockMixesNoLargerAndPredictedBetterAreReported() {
        try (GgufFile in = GgufReader.open(f32())) {
            ConversionPlan plan = ConversionPlanner.planFromGguf(in, ConversionOptions.of(QuantRecipe.Q4_K_M));
            Allocation a = new Allocation(plan, AllocationBudget.fileBytes(4_300_000), 4_200_000,
                    new AllocationKeys("size:4300000", "0".repeat(64), "t", 1e-3f), 1e-3, List.of(), List.of(), true,
                    List.of(new Allocation.StockMix("smaller-better", 4_100_000, 5.0, 5e-4),
                            new Allocation.StockMix("larger-better", 4_250_000, 5.1, 1e-4),
                            new Allocation.StockMix("smaller-worse", 4_000_000, 4.9, 2e-3),
                            new Allocation.StockMix("unpriced", 3_900_000, 4.8, Double.NaN)));
            assertEquals(List.of("smaller-better"), a.betterStockMixes().stream().map(Allocation.StockMix::name).toList());
        }
    }

    @Test
    void overridesNamingNoTensorAreRefused() {
        try (GgufFile in = GgufReader.open(f32())) {
            Map<String, GgmlType> types = new LinkedHashMap<>();
            types.put("blk.9.attn_q.weight", GgmlType.Q4_K);
            ConversionOptions o = ConversionOptions.of(QuantRecipe.Q4_K_M)
                    .withOverrides(types, new io.falconq.formats.gguf.GgufMetadata());
            assertThrows(InvalidInputException.class, () -> ConversionPlanner.planFromGguf(in, o));
        }
    }
}
