package io.falconq.cli.inspect;

import io.falconq.core.model.TensorRole;

/** The parts of a Falcon-H1 model that parameters are counted by (as {@code FalconH1Config.ParameterCounts}). */
public enum Component {
    EMBEDDINGS("embeddings"),
    LM_HEAD("lm_head"),
    ATTENTION("attention"),
    SSM("SSM (Mamba-2)"),
    MLP("MLP"),
    NORMS("norms"),
    /** A tensor that is not part of Falcon-H1's table: reported, never silently dropped. */
    OTHER("other");

    private final String label;

    Component(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The component of a tensor role; the SSM's gated norm belongs to the SSM, as in {@code parameterCounts()}. */
    public static Component of(TensorRole role) {
        return switch (role) {
            case TOKEN_EMBD -> EMBEDDINGS;
            case OUTPUT -> LM_HEAD;
            case ATTN_Q, ATTN_K, ATTN_V, ATTN_OUT -> ATTENTION;
            case SSM_IN, SSM_CONV1D, SSM_CONV1D_BIAS, SSM_DT_BIAS, SSM_A, SSM_D, SSM_NORM, SSM_OUT -> SSM;
            case FFN_GATE, FFN_UP, FFN_DOWN -> MLP;
            case OUTPUT_NORM, ATTN_NORM, FFN_NORM -> NORMS;
        };
    }
}
