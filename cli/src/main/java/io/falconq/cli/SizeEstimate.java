package io.falconq.cli;

import io.falconq.convert.recipe.FallbackChain;
import io.falconq.convert.recipe.QuantRecipe;
import io.falconq.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.model.FalconH1Config;
import io.falconq.model.TensorRole;

import java.util.ArrayList;
import java.util.List;

/**
 * GGUF tensor-data size of a Falcon-H1 model for llama-quantize's common mixes, from its config alone. The type of
 * every tensor comes from the convert module's {@link QuantRecipe} (llama-quantize's {@code llama_tensor_get_type_impl}
 * rules and {@code tensor_type_fallback}, without an imatrix); tensors llama.cpp never quantizes are F32, as the
 * converter writes them. So the tensor bytes are what falconq's converter plans, not a bits-per-weight guess. What is
 * estimated is the rest of the file: the GGUF header (metadata and tokenizer, from ~0.1 MB to a few MB) and alignment
 * padding are not counted.
 */
public final class SizeEstimate {
    /** One line for reports: how the numbers were obtained. */
    public static final String METHOD = "tensor data as planned by llama-quantize's type rules (QuantRecipe, no imatrix),"
            + " F32 for norms/conv/small SSM tensors; excludes the GGUF header (metadata, tokenizer) and padding";

    /** The mixes inspect reports. */
    public static final List<String> MIXES = List.of("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K");

    /** A tensor of the output file with its planned type ({@code fallback}: rows not a block multiple changed it). */
    public record PlannedTensor(String ggufName, TensorRole role, long elements, long rowLength, GgmlType type,
                                boolean fallback) {
        public long bytes() {
            return type.bytesFor(elements);
        }
    }

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
        long bytes = 0;
        long elements = 0;
        int fallbacks = 0;
        for (PlannedTensor t : plan(config, recipe)) {
            bytes = Math.addExact(bytes, t.bytes());
            elements = Math.addExact(elements, t.elements());
            fallbacks += t.fallback() ? 1 : 0;
        }
        return new Estimate(recipe.name(), bytes, elements, fallbacks);
    }

    /**
     * Every tensor the converter writes, in {@link TensorRole} order, with its type. The output tensor is always
     * written, also for a tied checkpoint (GGUF-NOTES.md §3.3: llama.cpp's reuse of token_embd would carry the wrong
     * µP multiplier).
     */
    public static List<PlannedTensor> plan(FalconH1Config config, QuantRecipe recipe) {
        List<PlannedTensor> out = new ArrayList<>();
        for (TensorRole role : TensorRole.values()) {
            if (!role.presentIn(config)) {
                continue;
            }
            long[] shape = role.convertedShape(config);
            long elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            long rowLength = shape[shape.length - 1];
            int layers = role.perLayer() ? config.numLayers() : 1;
            for (int i = 0; i < layers; i++) {
                int layer = role.perLayer() ? i : -1;
                String name = role.ggufName(layer);
                RecipeContext context = new RecipeContext(role, layer, config.numLayers(), config.gqaGroupSize(), false,
                        rowLength, true);
                FallbackChain.Resolution chosen = recipe.chooseType(context, name);
                out.add(chosen == null
                        ? new PlannedTensor(name, role, elements, rowLength, GgmlType.F32, false)
                        : new PlannedTensor(name, role, elements, rowLength, chosen.type(), chosen.isFallback()));
            }
        }
        return out;
    }
}
