package io.falconq.runtime;

/**
 * Receives intermediate activations of a forward pass, under the names the PyTorch reference uses for its trace
 * ({@code embeddings}, {@code layer3.mamba.zxbcdt}, {@code layer0.attn_branch}, {@code final_layernorm},
 * {@code logits} …; see {@code ../shared/models/falcon-h1-tiny/golden/hidden_states/index.json}).
 */
@FunctionalInterface
public interface ActivationObserver {
    /**
     * @param data row-major {@code rows × cols} floats starting at index 0, one row per token of the call; the
     *             buffer is reused after the call returns, so copy what you keep
     */
    void onActivation(String name, float[] data, int rows, int cols);
}
