package io.falconq.core.convert.alloc;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.TensorEncoder;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.io.InvalidInputException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Turns a sensitivity table and a budget into a conversion plan: plans the file type's mix once to learn every
 * tensor, its row length and the header, offers each quantized tensor the table's types it can take (row length a
 * multiple of the block, a codec, an imatrix where llama-quantize demands one), solves with {@link TypeAllocator}, and
 * plans again with the chosen types as per-tensor overrides — the same planning routine as every stock mix, so fallbacks,
 * imatrix use and metadata cannot differ. Every stock mix is planned too and priced by the same table.
 */
public final class AllocationPlanner {
    private AllocationPlanner() {
    }

    /**
     * @param planner    the planning routine for this input ({@code planFromHf} or {@code planFromGguf} bound to it)
     * @param options    recipe (the file type; null: the largest stock mix within the budget), imatrix, name
     * @param table      the sensitivities
     * @param tableSha256 SHA-256 of the table's file, recorded in the GGUF
     * @param notes      receives decisions worth telling the user
     */
    public static Allocation allocate(Function<ConversionOptions, ConversionPlan> planner,
                                      ConversionOptions options, SensitivityTable table, String tableSha256,
                                      AllocationBudget budget, List<String> notes) {
        if (options.imatrix() == null && table.source().imatrix() != null) {
            notes.add("the sensitivities were measured with an imatrix (" + table.source().imatrix()
                    + ") but none is given: types that use one will behave differently from the measurement");
        } else if (options.imatrix() != null && table.source().imatrix() == null) {
            notes.add("the sensitivities were measured without an imatrix but one is given");
        }
        List<Allocation.StockMix> stock = stockMixes(planner, options, table);
        QuantRecipe recipe = options.recipe() != null ? options.recipe() : fileType(stock, budget);
        if (!recipe.isQuantized()) {
            throw new InvalidInputException("an allocation needs a quantized file type, not " + recipe.name());
        }
        AllocationKeys keys = new AllocationKeys(budget.label(), tableSha256, table.source().data(), 0f);
        ConversionOptions base = options.withRecipe(recipe).withOverrides(Map.of(), keys.toMetadata());
        ConversionPlan first = planner.apply(base);

        int alignment = first.metadata().alignment();
        boolean file = budget.kind() == AllocationBudget.Kind.FILE_BYTES;
        long fixedCost = file ? header(first, alignment) : 0;
        List<TensorChoice> items = new ArrayList<>();
        List<String> fixed = new ArrayList<>();
        for (PlannedTensor t : first.tensors()) {
            TensorChoice choice = t.fallback() == null ? null : choices(t, table, recipe, options, file, alignment);
            if (choice == null) {
                if (t.fallback() != null) {
                    fixed.add(t.targetName());
                }
                fixedCost += file ? padded(t.bytes(), alignment) : t.bytes();
            } else {
                items.add(choice);
            }
        }
        if (!fixed.isEmpty()) {
            notes.add(fixed.size() + " quantized tensor(s) not in the sensitivity table keep " + recipe.name()
                    + "'s types: " + fixed.stream().limit(4).toList() + (fixed.size() > 4 ? " …" : ""));
        }
        if (items.isEmpty()) {
            throw new InvalidInputException("the sensitivity table covers no quantized tensor of this model");
        }
        long cap = budget.costCap(first.elementCount()) - fixedCost;
        long cheapest = TypeAllocator.minimumCost(items);
        if (cheapest > cap) {
            throw new InvalidInputException("budget " + budget.label() + " is too small: the smallest allocation from "
                    + "the table's types needs " + describe(budget, cheapest + fixedCost, first.elementCount()));
        }
        TypeAllocator.Result result = TypeAllocator.solve(items, cap);
        Map<String, GgmlType> overrides = new LinkedHashMap<>();
        int[] picked = result.choice();
        for (int i = 0; i < items.size(); i++) {
            overrides.put(items.get(i).name(), items.get(i).options().get(picked[i]).type());
        }
        keys = keys.withPrediction(result.deltaKld());
        ConversionPlan plan = planner.apply(base.withOverrides(overrides, keys.toMetadata()));
        for (PlannedTensor t : plan.tensors()) {
            GgmlType want = overrides.get(t.targetName());
            if (want != null && want != t.type()) {
                throw new IllegalStateException(t.targetName() + ": allocated " + want + " but planned " + t.type());
            }
        }
        long fileBytes = fileBytes(plan);
        long spent = file ? fileBytes : plan.dataBytes();
        if (spent > budget.costCap(plan.elementCount())) {
            throw new IllegalStateException("allocation exceeds its budget: " + spent + " > " + budget.label());
        }
        return new Allocation(plan, budget, fileBytes, keys, result.deltaKld(), List.copyOf(overrides.keySet()), fixed,
                result.exact(), stock);
    }

    /** The table's usable types for one tensor, or null when it has none. */
    private static TensorChoice choices(PlannedTensor t, SensitivityTable table, QuantRecipe recipe,
                                        ConversionOptions options, boolean file, int alignment) {
        SensitivityTable.Entry e = table.entry(t.targetName());
        if (e == null) {
            return null;
        }
        if (e.role() != t.role() || e.elements() != t.elementCount()) {
            throw new InvalidInputException("sensitivity table entry " + e.name() + " is " + e.role() + " with "
                    + e.elements() + " elements, the model's tensor is " + t.role() + " with " + t.elementCount()
                    + " (a table of another model?)");
        }
        List<TensorChoice.Option> opts = new ArrayList<>();
        for (Map.Entry<GgmlType, Double> v : e.deltaKld().entrySet()) {
            GgmlType type = v.getKey();
            if (t.rowLength() % type.blockSize() != 0 || TensorEncoder.codecOrNull(type) == null
                    || (options.imatrix() == null && recipe.requiresImatrix(t.role(), type))) {
                continue;
            }
            long bytes = type.bytesFor(t.elementCount());
            opts.add(new TensorChoice.Option(type, file ? padded(bytes, alignment) : bytes, v.getValue()));
        }
        return opts.isEmpty() ? null : new TensorChoice(t.targetName(), opts);
    }

    /** Every quantized stock mix planned for this input, priced by the table, by increasing file size. */
    static List<Allocation.StockMix> stockMixes(Function<ConversionOptions, ConversionPlan> planner,
                                                ConversionOptions options, SensitivityTable table) {
        List<Allocation.StockMix> out = new ArrayList<>();
        for (QuantRecipe r : QuantRecipe.all()) {
            if (!r.isQuantized()) {
                continue;
            }
            ConversionPlan plan = planner.apply(options.withRecipe(r).withOverrides(Map.of(), new GgufMetadata()));
            double sum = 0;
            for (PlannedTensor t : plan.tensors()) {
                SensitivityTable.Entry e = table.entry(t.targetName());
                if (e != null && t.fallback() != null) {
                    Double v = e.deltaKld().get(t.type());
                    sum += v == null ? Double.NaN : v;
                }
            }
            out.add(new Allocation.StockMix(r.name(), fileBytes(plan), bitsPerWeight(plan), sum));
        }
        out.sort(Comparator.comparingLong(Allocation.StockMix::fileBytes).thenComparing(Allocation.StockMix::name));
        return out;
    }

    /** Without {@code --type}: the largest stock mix that fits, or the smallest of all. */
    private static QuantRecipe fileType(List<Allocation.StockMix> stock, AllocationBudget budget) {
        Allocation.StockMix pick = stock.getFirst();
        for (Allocation.StockMix s : stock) {
            if (s.within(budget)) {
                pick = s;
            }
        }
        return QuantRecipe.named(pick.name());
    }

    static double bitsPerWeight(ConversionPlan plan) {
        return 8.0 * plan.dataBytes() / plan.elementCount();
    }

    static long fileBytes(ConversionPlan plan) {
        return GgufWriter.plannedFileSize(plan.metadata(), plan.tensors().stream().map(PlannedTensor::forWriter).toList());
    }

    /** Header, metadata and the padding before the data section: the file size minus the padded tensor data. */
    private static long header(ConversionPlan plan, int alignment) {
        long data = 0;
        for (PlannedTensor t : plan.tensors()) {
            data += padded(t.bytes(), alignment);
        }
        return fileBytes(plan) - data;
    }

    private static long padded(long bytes, int alignment) {
        return (bytes + alignment - 1) / alignment * alignment;
    }

    private static String describe(AllocationBudget budget, long cost, long elements) {
        return budget.kind() == AllocationBudget.Kind.FILE_BYTES ? cost + " bytes"
                : String.format("%.4f bits per weight", 8.0 * cost / elements);
    }
}
