package io.falconq.runtime;

import java.util.List;

/**
 * A decoder layer cut into consecutive parts, so a job can run a layer part by part over many sequences and change
 * weights in between (layer-sequential GPTQ quantizes a linear once every sequence has passed the part that feeds
 * it). {@link FalconH1Forward#runLayer} runs a contiguous range of parts; a range starting after
 * {@link #INPUT_NORM} first needs {@link #inputs()} loaded ({@link FalconH1Forward#load}), besides the residual.
 */
public enum LayerPart {
    /** {@code input_layernorm(h)} → {@link Tap#INPUT_NORM}. */
    INPUT_NORM,
    /** Both branches up to the inputs of their output projections → {@link Tap#ATTN_HEADS}, {@link Tap#MAMBA_Y_GATED}. */
    MIXER(Tap.INPUT_NORM),
    /** o_proj and out_proj, added to the residual → {@link Tap#POST_MIXER_RESIDUAL}. */
    MIXER_OUTPUT(Tap.ATTN_HEADS, Tap.MAMBA_Y_GATED),
    /** {@code pre_ff_layernorm(h)} → {@link Tap#PRE_FF_NORM}. */
    FF_NORM,
    /** gate, up and the SwiGLU → {@link Tap#MLP_ACT}. */
    MLP_HIDDEN(Tap.PRE_FF_NORM),
    /** down_proj, added to the residual → {@link Tap#LAYER_OUTPUT}. */
    MLP_OUTPUT(Tap.MLP_ACT);

    private final List<Tap> inputs;

    LayerPart(Tap... inputs) {
        this.inputs = List.of(inputs);
    }

    /** Activations (besides the residual) a range starting at this part reads from the forward's buffers. */
    public List<Tap> inputs() {
        return inputs;
    }
}
