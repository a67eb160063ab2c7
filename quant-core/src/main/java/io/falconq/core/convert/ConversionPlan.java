package io.falconq.core.convert;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufMetadata;

import java.util.List;

/**
 * Everything a conversion will write, decided up front (STYLE.md §6): the metadata, the tensors in file order with
 * their types and sizes, and the notes (fallbacks, imatrix use) a report shows. Running the plan only moves data.
 *
 * @param layout  {@link Layout#CONVERTER} for what {@code convert_hf_to_gguf.py} writes, {@link Layout#QUANTIZE} for
 *                what {@code llama-quantize} writes
 * @param notes   human-readable decisions worth logging, e.g. fallbacks ("blk.0.ssm_out.weight: ncols 384 not
 *                divisible by 256 (required for Q4_K) -> Q5_0")
 */
public record ConversionPlan(QuantRecipe recipe, Layout layout, GgufMetadata metadata, List<PlannedTensor> tensors,
                             List<String> notes) {
    public ConversionPlan {
        metadata = metadata.copy();
        tensors = List.copyOf(tensors);
        notes = List.copyOf(notes);
    }

    @Override
    public GgufMetadata metadata() {
        return metadata.copy();
    }

    /** Tensor order and dimension conventions of the two llama.cpp writers. */
    public enum Layout {
        /** gguf-py: tensors in converter order ({@link io.falconq.core.model.TensorRole} order per layer), numpy rank. */
        CONVERTER,
        /** llama-quantize: loader order (global tensors by name, then by layer and name), {@code ggml_n_dims}. */
        QUANTIZE
    }

    public long dataBytes() {
        return tensors.stream().mapToLong(PlannedTensor::bytes).sum();
    }

    public long elementCount() {
        return tensors.stream().mapToLong(PlannedTensor::elementCount).sum();
    }

    public long fallbackCount() {
        return tensors.stream().filter(t -> t.fallback() != null && t.fallback().isFallback()).count();
    }
}
