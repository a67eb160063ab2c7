package io.falconq.core.convert.recipe;

import io.falconq.core.model.TensorRole;

/**
 * What llama-quantize knows about a tensor when it picks its type ({@code llama_tensor_get_type_impl}).
 *
 * @param role            the tensor's role
 * @param layer           its layer index, -1 for global tensors (for Falcon-H1 every layer has one attn_v and one
 *                        ffn_down, so llama.cpp's running counters {@code i_attention_wv} and {@code i_ffn_down}
 *                        equal the layer index)
 * @param layerCount      {@code block_count} (llama.cpp's {@code n_attention_wv} and {@code n_ffn_down})
 * @param gqa             query heads per key/value head ({@code hparams.n_gqa()})
 * @param hasImatrix      whether an importance matrix was given (for any tensor)
 * @param rowLength       {@code ne[0]}, elements per row
 * @param hasOutputTensor whether the model has {@code output.weight}; without it the token embedding is also the
 *                        output and gets the output's type
 */
public record RecipeContext(TensorRole role, int layer, int layerCount, int gqa, boolean hasImatrix, long rowLength,
                            boolean hasOutputTensor) {
}
