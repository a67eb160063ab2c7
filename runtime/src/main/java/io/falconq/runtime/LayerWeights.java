package io.falconq.runtime;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
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

    /** Layer {@code layer} as {@code src} stores it. */
    static LayerWeights read(WeightSource src, int layer) {
        FalconH1Config c = src.config();
        return new LayerWeights(
                src.floats(TensorRole.ATTN_NORM, layer),
                src.linear(LinearRole.ATTN_Q, layer),
                src.linear(LinearRole.ATTN_K, layer),
                src.linear(LinearRole.ATTN_V, layer),
                src.linear(LinearRole.ATTN_OUTPUT, layer),
                src.linear(LinearRole.SSM_IN, layer),
                TensorFloats.transpose(src.floats(TensorRole.SSM_CONV1D, layer), c.convDim(), c.convKernel()),
                c.convBias() ? src.floats(TensorRole.SSM_CONV1D_BIAS, layer) : new float[c.convDim()],
                src.floats(TensorRole.SSM_DT_BIAS, layer),
                src.ssmA(layer),
                src.floats(TensorRole.SSM_D, layer),
                c.ssmRmsNorm() ? src.floats(TensorRole.SSM_NORM, layer) : null,
                src.linear(LinearRole.SSM_OUT, layer),
                src.floats(TensorRole.FFN_NORM, layer),
                src.linear(LinearRole.FFN_GATE, layer),
                src.linear(LinearRole.FFN_UP, layer),
                src.linear(LinearRole.FFN_DOWN, layer));
    }

    /** The linear of {@code role} (a per-layer role). */
    public WeightMatrix linear(LinearRole role) {
        return switch (role) {
            case ATTN_Q -> q;
            case ATTN_K -> k;
            case ATTN_V -> v;
            case ATTN_OUTPUT -> o;
            case SSM_IN -> ssmIn;
            case SSM_OUT -> ssmOut;
            case FFN_GATE -> gate;
            case FFN_UP -> up;
            case FFN_DOWN -> down;
            case OUTPUT -> throw new IllegalArgumentException("the LM head is not a layer weight");
        };
    }

    /** These weights with the linear of {@code role} replaced (same shape). */
    public LayerWeights with(LinearRole role, WeightMatrix m) {
        WeightMatrix old = linear(role);
        if (old.rows() != m.rows() || old.cols() != m.cols()) {
            throw new IllegalArgumentException(role + ": [" + m.rows() + ", " + m.cols() + "] replaces ["
                    + old.rows() + ", " + old.cols() + "]");
        }
        return new LayerWeights(inputNorm, role == LinearRole.ATTN_Q ? m : q, role == LinearRole.ATTN_K ? m : k,
                role == LinearRole.ATTN_V ? m : v, role == LinearRole.ATTN_OUTPUT ? m : o,
                role == LinearRole.SSM_IN ? m : ssmIn, convWeight, convBias, dtBias, a, d, ssmNorm,
                role == LinearRole.SSM_OUT ? m : ssmOut, preFfNorm, role == LinearRole.FFN_GATE ? m : gate,
                role == LinearRole.FFN_UP ? m : up, role == LinearRole.FFN_DOWN ? m : down);
    }

    /** These weights with other norm gains (null keeps one): what AWQ's folded scales change. */
    public LayerWeights withNorms(float[] newInputNorm, float[] newSsmNorm, float[] newPreFfNorm) {
        return new LayerWeights(newInputNorm != null ? newInputNorm : inputNorm, q, k, v, o, ssmIn, convWeight,
                convBias, dtBias, a, d, newSsmNorm != null ? newSsmNorm : ssmNorm, ssmOut,
                newPreFfNorm != null ? newPreFfNorm : preFfNorm, gate, up, down);
    }
}
