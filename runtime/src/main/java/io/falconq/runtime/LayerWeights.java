package io.falconq.runtime;

import io.falconq.runtime.kernel.WeightMatrix;

/**
 * The weights of one Falcon-H1 decoder layer (SPEC.md §1.2), shapes in PyTorch order. Small tensors are decoded
 * to float32 arrays at load time; linear layers stay in their stored encoding.
 *
 * @param inputNorm  (H) input_layernorm, feeds both the attention and the Mamba2 branch
 * @param q          (nh·hd, H)
 * @param k          (nkv·hd, H)
 * @param v          (nkv·hd, H)
 * @param o          (H, nh·hd)
 * @param ssmIn      (d_in_proj, H), output rows z | x | B | C | dt
 * @param convWeight (K, conv_dim): the depthwise conv1d kernel, transposed from the stored (conv_dim, 1, K) so a
 *                   tap k is contiguous across channels
 * @param convBias   (conv_dim); zeros when the checkpoint has no conv bias
 * @param dtBias     (Hs)
 * @param a          (Hs) A = −exp(A_log)
 * @param d          (Hs) D skip
 * @param ssmNorm    (Di) gated grouped RMSNorm weight, or null without mamba_rms_norm
 * @param ssmOut     (H, Di)
 * @param preFfNorm  (H)
 * @param gate       (F, H)
 * @param up         (F, H)
 * @param down       (H, F)
 */
public record LayerWeights(
        float[] inputNorm,
        WeightMatrix q, WeightMatrix k, WeightMatrix v, WeightMatrix o,
        WeightMatrix ssmIn,
        float[] convWeight,
        float[] convBias,
        float[] dtBias,
        float[] a,
        float[] d,
        float[] ssmNorm,
        WeightMatrix ssmOut,
        float[] preFfNorm,
        WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
}
