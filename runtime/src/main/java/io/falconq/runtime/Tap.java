package io.falconq.runtime;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.model.FalconH1Config;

import java.util.List;

/**
 * The points of the forward pass where an activation can be observed ({@link TapListener}). Each has the name the
 * PyTorch reference gives it in its hidden-state trace ({@code ../shared/models/falcon-h1-tiny/golden/
 * hidden_states/index.json}: {@code embeddings}, {@code layer3.mamba.zxbcdt}, …), and the linear layers that read it,
 * for calibration.
 */
public enum Tap {
    /** {@code embed[ids] · embedding_multiplier}: the residual stream entering layer 0. */
    EMBEDDINGS("embeddings", false),
    /** {@code input_layernorm(h)}: the one normed input of both branches (before the branches' input multipliers). */
    INPUT_NORM("input_layernorm", true, LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V, LinearRole.SSM_IN),
    MAMBA_ZXBCDT("mamba.zxbcdt", true),
    MAMBA_XBC_CONV_SILU("mamba.xBC_conv_silu", true),
    MAMBA_DT_SOFTPLUS("mamba.dt_softplus", true),
    MAMBA_Y_SSM_PLUS_D("mamba.y_ssm_plus_D", true),
    /** The gated, group-normed SSM output: out_proj's input. */
    MAMBA_Y_GATED("mamba.y_gated", true, LinearRole.SSM_OUT),
    MAMBA_BRANCH("mamba_branch", true),
    /** The concatenated attention heads: o_proj's input. */
    ATTN_HEADS("attn_heads", true, LinearRole.ATTN_OUTPUT),
    ATTN_BRANCH("attn_branch", true),
    /** {@code h + mamba_branch + attn_branch}. */
    POST_MIXER_RESIDUAL("post_mixer_residual", true),
    /** {@code pre_ff_layernorm(h)}: gate and up read it. */
    PRE_FF_NORM("pre_ff_layernorm", true, LinearRole.FFN_GATE, LinearRole.FFN_UP),
    /** {@code up(x) · silu(gate(x) · gate_multiplier)}: down_proj's input. */
    MLP_ACT("mlp_act", true, LinearRole.FFN_DOWN),
    MLP_OUT("mlp_out", true),
    /** The residual stream leaving the layer. */
    LAYER_OUTPUT("output", true),
    FINAL_NORM("final_layernorm", false, LinearRole.OUTPUT),
    LOGITS("logits", false);

    private final String referenceName;
    private final boolean perLayer;
    private final List<LinearRole> readers;

    Tap(String referenceName, boolean perLayer, LinearRole... readers) {
        this.referenceName = referenceName;
        this.perLayer = perLayer;
        this.readers = List.of(readers);
    }

    public boolean isPerLayer() {
        return perLayer;
    }

    /** The linear layers whose input this activation is (empty for intermediates no linear reads). */
    public List<LinearRole> readers() {
        return readers;
    }

    /** The reference trace's name, e.g. {@code layer3.mamba.zxbcdt}; {@code layer} is ignored for global taps. */
    public String referenceName(int layer) {
        return perLayer ? "layer" + layer + "." + referenceName : referenceName;
    }

    /** Floats per token row at this tap for a model of config {@code c}. */
    public int width(FalconH1Config c) {
        return switch (this) {
            case EMBEDDINGS, INPUT_NORM, MAMBA_BRANCH, ATTN_BRANCH, POST_MIXER_RESIDUAL, PRE_FF_NORM, MLP_OUT,
                 LAYER_OUTPUT, FINAL_NORM -> c.hiddenSize();
            case MAMBA_ZXBCDT -> c.inProjSize();
            case MAMBA_XBC_CONV_SILU -> c.convDim();
            case MAMBA_DT_SOFTPLUS -> c.ssmHeads();
            case MAMBA_Y_SSM_PLUS_D, MAMBA_Y_GATED -> c.ssmInnerSize();
            case ATTN_HEADS -> c.qSize();
            case MLP_ACT -> c.intermediateSize();
            case LOGITS -> c.vocabSize();
        };
    }
}
