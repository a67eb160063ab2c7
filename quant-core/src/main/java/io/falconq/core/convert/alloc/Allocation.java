package io.falconq.core.convert.alloc;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.formats.gguf.GgmlType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A solved allocation: the conversion plan with the chosen per-tensor types, what it is predicted to cost, and the
 * stock mixes it was compared with.
 *
 * @param plan        the plan to run (the one type-planning routine with the allocation as per-tensor overrides)
 * @param budget      what it had to fit
 * @param fileBytes   the exact size of the file the plan writes
 * @param keys        the metadata recorded in the file
 * @param predictedDeltaKld the summed ΔKLD of the chosen types over the covered tensors (the keys hold it as float32)
 * @param allocated   tensors whose type the allocator chose, in file order
 * @param fixed       quantized tensors the table does not cover (or offers no usable type for): they keep the file
 *                    type's mix
 * @param exact       whether the solver proved the choice optimal for the predicted ΔKLD
 * @param stock       every stock mix, by increasing file size
 */
public record Allocation(ConversionPlan plan, AllocationBudget budget, long fileBytes, AllocationKeys keys,
                         double predictedDeltaKld, List<String> allocated, List<String> fixed, boolean exact, List<StockMix> stock) {
    public Allocation {
        allocated = List.copyOf(allocated);
        fixed = List.copyOf(fixed);
        stock = List.copyOf(stock);
    }

    /**
     * A llama-quantize mix planned for the same model and imatrix.
     *
     * @param name              the mix
     * @param fileBytes         its exact file size
     * @param bitsPerWeight     8 × tensor data bytes / elements
     * @param predictedDeltaKld the table's prediction over the covered tensors, NaN when a type it uses was not measured
     */
    public record StockMix(String name, long fileBytes, double bitsPerWeight, double predictedDeltaKld) {
        /** Whether it fits the budget as the allocation must. */
        public boolean within(AllocationBudget budget) {
            return budget.kind() == AllocationBudget.Kind.FILE_BYTES ? fileBytes <= budget.value()
                    : bitsPerWeight <= budget.value();
        }
    }

    public double bitsPerWeight() {
        return 8.0 * plan.dataBytes() / plan.elementCount();
    }

    /**
     * Every tensor llama-quantize quantizes, with its concrete type: what {@link TensorTypeFile} writes so that
     * llama-quantize decides nothing itself.
     */
    public Map<String, GgmlType> quantizedTypes() {
        Map<String, GgmlType> m = new LinkedHashMap<>();
        for (PlannedTensor t : plan.tensors()) {
            if (t.fallback() != null) {
                m.put(t.targetName(), t.type());
            }
        }
        return m;
    }

    /**
     * Stock mixes no larger than this allocation (in the budget's measure) that the table predicts better: they must
     * not pass silently.
     */
    public List<StockMix> betterStockMixes() {
        AllocationBudget asLarge = budget.kind() == AllocationBudget.Kind.FILE_BYTES
                ? AllocationBudget.fileBytes(fileBytes) : AllocationBudget.bitsPerWeight(bitsPerWeight());
        return stock.stream().filter(s -> s.within(asLarge) && s.predictedDeltaKld() < predictedDeltaKld).toList();
    }
}
