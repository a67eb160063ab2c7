package io.falconq.runtime;

import io.falconq.core.model.FalconH1Config;

/**
 * The µP multipliers the forward pass applies to activations, as float32 (PyTorch multiplies a float32 tensor by a
 * Python float in float32). From an HF checkpoint these are the config values; from a GGUF made by llama.cpp's
 * converter they are all 1, because the converter folded them into the weights (GGUF-NOTES.md §3.3).
 *
 * @param ssm [m_z, m_x, m_B, m_C, m_dt], applied to the in_proj output segments
 * @param mlp [gate, down]
 */
public record Multipliers(float embedding, float lmHead, float attentionIn, float attentionOut, float key,
                          float ssmIn, float ssmOut, float[] ssm, float[] mlp) {

    public Multipliers {
        if (ssm.length != 5 || mlp.length != 2) {
            throw new IllegalArgumentException("ssm needs 5 and mlp 2 multipliers");
        }
        ssm = ssm.clone();
        mlp = mlp.clone();
    }

    @Override
    public float[] ssm() {
        return ssm.clone();
    }

    @Override
    public float[] mlp() {
        return mlp.clone();
    }

    public float mlpGate() {
        return mlp[0];
    }

    public float mlpDown() {
        return mlp[1];
    }

    /** The config's multipliers, for weights stored as trained (HF layout). */
    public static Multipliers of(FalconH1Config c) {
        double[] s = c.ssmMultipliers();
        double[] m = c.mlpMultipliers();
        return new Multipliers((float) c.embeddingMultiplier(), (float) c.lmHeadMultiplier(),
                (float) c.attentionInMultiplier(), (float) c.attentionOutMultiplier(), (float) c.keyMultiplier(),
                (float) c.ssmInMultiplier(), (float) c.ssmOutMultiplier(),
                new float[] {(float) s[0], (float) s[1], (float) s[2], (float) s[3], (float) s[4]},
                new float[] {(float) m[0], (float) m[1]});
    }

    /** All ones: for weights with the multipliers folded in (llama.cpp GGUF). */
    public static Multipliers folded() {
        return new Multipliers(1f, 1f, 1f, 1f, 1f, 1f, 1f, new float[] {1f, 1f, 1f, 1f, 1f}, new float[] {1f, 1f});
    }
}
