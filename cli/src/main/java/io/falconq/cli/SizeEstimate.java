package io.falconq.cli;

import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.core.model.FalconH1Config;

import java.util.ArrayList;
import java.util.List;

/**
 * GGUF tensor-data size of a Falcon-H1 model for llama-quantize's common mixes, from its config alone: the converter's
 * own plan ({@link ConversionPlanner#planFromConfig}: {@link QuantRecipe}'s {@code llama_tensor_get_type_impl} rules and
 * {@code tensor_type_fallback}, without an imatrix; tensors llama.cpp never quantizes are F32, as the converter writes
 * them). So the tensor bytes are what falconq's converter plans, not a bits-per-weight guess. What is
 * estimated is the rest of the file: the GGUF header (metadata and tokenizer, from ~0.1 MB to a few MB) and alignment
 * padding are not counted.
 */
public final class SizeEstimate {
    /** One line for reports: how the numbers were obtained. */
    public static final String METHOD = "tensor data as planned by llama-quantize's type rules (QuantRecipe, no imatrix),"
            + " F32 for norms/conv/small SSM tensors; excludes the GGUF header (metadata, tokenizer) and padding";

    /** The mixes inspect reports. */
    public static final List<String> MIXES = List.of("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K");

    /** The size for one mix: bytes of tensor data over the parameters written (output included when tied). */
    public record Estimate(String mix, long tensorBytes, long elements, int fallbacks) {
        public double bitsPerWeight() {
            return elements == 0 ? 0 : 8.0 * tensorBytes / elements;
        }
    }

    private SizeEstimate() {
    }

    public static List<Estimate> all(FalconH1Config config) {
        List<Estimate> out = new ArrayList<>();
        for (String mix : MIXES) {
            out.add(estimate(config, QuantRecipe.named(mix)));
        }
        return out;
    }

    public static Estimate estimate(FalconH1Config config, QuantRecipe recipe) {
        ConversionPlan plan = plan(config, recipe);
        return new Estimate(recipe.name(), plan.dataBytes(), plan.elementCount(), Math.toIntExact(plan.fallbackCount()));
    }

    /**
     * The converter's plan for any checkpoint of this config ({@link ConversionPlanner#planFromConfig}), without an
     * imatrix. The output tensor is always written, also for a tied checkpoint (GGUF-NOTES.md §3.3: llama.cpp's
     * reuse of token_embd would carry the wrong µP multiplier).
     */
    public static ConversionPlan plan(FalconH1Config config, QuantRecipe recipe) {
        return ConversionPlanner.planFromConfig(config, "inspect", ConversionOptions.of(recipe));
    }
}
