package io.falconq.runtime;

import io.falconq.runtime.kernel.WeightMatrix;

import java.util.List;

/**
 * All weights of a Falcon-H1 causal LM, whichever file they came from.
 *
 * @param embeddings (V, H) token embeddings
 * @param layers     L decoder layers
 * @param finalNorm  (H) final_layernorm
 * @param lmHead     (V, H); the embeddings themselves when tied
 */
public record FalconH1Weights(WeightMatrix embeddings, List<LayerWeights> layers, float[] finalNorm, WeightMatrix lmHead) {
    public FalconH1Weights {
        layers = List.copyOf(layers);
    }
}
